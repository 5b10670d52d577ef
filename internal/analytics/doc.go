// Package analytics answers "who attacks us": the most frequent sources and a
// source's history. It defines the result types every back end returns (alert
// files read directly, the embedded store, the ossec-dbd database) and the
// steps they share: CIDR-correct scope filtering, thresholds, ordering.
//
// It is pure computation over alerts and aggregates: no I/O, no SQL. Back ends
// that aggregate in a database return the same types, and Finish makes the
// answers identical whatever computed them.
package analytics
