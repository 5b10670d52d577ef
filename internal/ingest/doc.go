// Package ingest connects alert sources to their consumers: it opens alert
// files of either format (plain or gzip, alerts.log or alerts.json, a single
// file or an OSSEC logs/alerts tree), answers top/ip queries straight from
// files, and imports files and ossec-dbd databases into the store with
// checkpoints, so an import can be interrupted and resumed without losing or
// double-counting an alert.
//
// It is wiring, not parsing: formats belong to the readers under
// internal/ossec, storage to internal/alertdb.
package ingest
