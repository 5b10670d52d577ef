// Package follow reads OSSEC's alert outputs as they are written: the live
// logs/alerts/alerts.log or alerts.json across the nightly hard-link swap,
// truncation and restarts, and the ossec-dbd database by row id. Each alert
// comes with the position just after it, so a caller that stores the last
// position it committed resumes with no alert lost and none delivered twice.
//
// Files are polled (stat and read every FileOptions.Poll): polling is
// portable, sees hard-link swaps that inotify on the directory would need
// extra care for, and costs one fstat and one small read per interval. A
// half-written last alert is waited for, never dropped; an old day file is
// drained to its end before the new one is read, and a last alert that never
// completes there is reported as malformed once the file has been quiet for
// FileOptions.Grace.
//
// The package parses nothing itself (the alertslog, alertsjson and ossecdb
// readers do), stores nothing, holds at most one alert beyond the readers'
// buffers, and never treats an address in alert text as a destination.
package follow
