// Package ossecdb reads the database ossec-dbd writes (MySQL/MariaDB or
// PostgreSQL, every layout from OSSEC 2.8 to master) as Rampart's alert
// model: a resumable stream of alerts, and the "top sources" and per-source
// questions answered inside the database.
//
// Every column is read for what it really holds (ossec-formats.md §2–§3): the
// alert time comes from alertid, never from the insert-time "timestamp"
// column; every spelling of a missing address is rejected; addresses stored
// in several spellings are merged. The layout is found by introspection, not
// by a version number, because patched and converted databases exist.
//
// It must never write rows to the database (the writer for tests and
// samples is the dbdload subpackage); its one change to a database is the
// index CreateTopIndex adds when the operator asks ("rampart db
// optimize"). It must never build SQL from input text (only parameters and
// names read from the catalogue), and never print a password.
package ossecdb
