// Package e2e holds end-to-end tests that run rampart's real entry point
// (cli.Main) against real inputs: generated alert files, the SQLite store,
// and ossec-dbd databases on the machine's MariaDB and PostgreSQL.
package e2e
