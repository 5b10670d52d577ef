// Package alertslog reads and writes OSSEC's alerts.log: the plain-text alert
// log that analysisd writes with OS_Log() (OSSEC 0.8 to 4.x, and Wazuh's
// variant of it), live as logs/alerts/alerts.log and rotated as
// logs/alerts/YYYY/Mon/ossec-alerts-DD.log[.gz].
//
// The Reader turns the text into ossec.Alert values, one block at a time. It
// is built for whole-history scans (millions of alerts per second on one
// core), so it reuses the Alert it returns and interns repeated strings; a
// malformed block is reported and skipped without disturbing its neighbours,
// and a file written with <custom_alert_output> is refused loudly rather
// than read as nothing. AppendAlert writes the same format, for tests,
// fixtures and exports.
//
// The package must not follow files across rotation (package follow does),
// must not store or aggregate alerts, and must not treat any address found in
// alert text as something to connect to.
package alertslog
