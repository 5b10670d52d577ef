// Package dbdload writes alerts into a database the way ossec-dbd does, for
// every writer version and both engines: its schema, its sentinel
// spellings for missing addresses and users, its sanitising and cuts, its
// lookup rows. It exists so tests, benchmarks and "rampart sample --db" can
// build realistic ossec-dbd databases without an OSSEC install.
//
// It must not be used against a production OSSEC database (it creates
// tables and rows) and must not be imported by the reader, ossecdb: the
// reader is tested against it, so neither may share the other's decisions.
// The DDL is written from ossec-formats.md §2, not copied from OSSEC.
package dbdload
