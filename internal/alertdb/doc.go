// Package alertdb is Rampart's embedded alert store: one SQLite file (pure Go,
// modernc.org/sqlite) into which alerts from alerts.log, alerts.json and the
// ossec-dbd database are imported, and from which "top sources" and "history
// of one source" are answered fast.
//
// Every alert is stored once: an alert whose (Time, Key()) is already stored
// is a duplicate, whichever reader delivered it. Imports are resumable
// exactly: a Writer commits its alerts, the per-source rollups and the
// reader's checkpoint in one transaction, so after a crash at any moment the
// checkpoint and the stored alerts agree, and re-importing from the
// checkpoint counts every alert once.
//
// Answers are those of package analytics over the same alerts: TopSources
// equals analytics.Counter (after analytics.Finish) and SourceReport equals
// analytics.ReportBuilder, for every analytics.Filter. Per-source rollups kept
// at import time make them fast; the raw alerts are read only for the partial
// UTC days at the edges of a time filter and for the newest alerts of a
// report.
//
// Layout: the alerts table is clustered by event time (an alert's id is
// time << 24 | arrival counter), so deduplication and time ranges are id
// ranges and the table has no secondary index; rule variants and locations
// have tables of their own; src_day holds per-day rollups (source, rule
// variant, location) that also list their alerts' ids, src_rule the
// all-time rollup per source and rule. Besides the database and its WAL, a
// "<file>-lock" file serialises writers across processes. Migrations are the
// embedded migrations/*.sql files, recorded in schema_migrations.
//
// The package does not read OSSEC files or databases (the readers in
// internal/ossec/... do), does not decide anything about the addresses it
// stores, and never contacts them: IP addresses are data. It keeps no
// package-level state; all I/O goes through a Store.
package alertdb
