// Package sigsync fills ossec-dbd's signature table from OSSEC's rules
// files, so that SQL and Grafana users of a 2.9+ database, where ossec-dbd
// no longer writes signature (ossec-formats.md §1), see rule names and
// levels; where the database has category and signature_category_mapping it
// also adds the rule → group links the rules files define.
//
// It is the one package that writes rows into an operator's ossec-dbd
// database, and its callers must ask the operator first. It inserts the rules
// signature lacks and updates the rows whose level or description differs,
// in one transaction; it never deletes a row: rows of rules the files do not
// define are left alone and reported. Its SQL text is fixed here; every value
// is a parameter. The reader, ossecdb, must not import it.
package sigsync
