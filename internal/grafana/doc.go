// Package grafana builds Rampart's Grafana provisioning: the data source
// files (MySQL on the ossec-dbd database, Prometheus on Rampart's metrics)
// and two dashboards as JSON, "OSSEC alerts" on the ossec-dbd schema and
// "Rampart" on the server's Prometheus series. It also expands Grafana's
// MySQL macros the way Grafana does (Expand), so that every panel's SQL can
// be run outside Grafana, and pushes dashboards through Grafana's HTTP API
// (Client).
//
// The panels' SQL follows ossec-formats.md: the alert time is the epoch in
// alertid, never the insert-time "timestamp" column, so time filters use
// $__unixEpochFilter on that epoch (behind an alertid range the index
// serves), not $__timeFilter; addresses are compared as binary (INET6_ATON
// ranges), never as text patterns; every spelling of a missing address is
// left out and "::ffff:a.b.c.d" counts as a.b.c.d.
//
// It must not connect to a database or open files: the CLI writes what it
// returns. Its only network use is Client, towards the Grafana URL the
// operator names. Values from the operator (networks) enter SQL only as
// literals this package formats itself.
package grafana
