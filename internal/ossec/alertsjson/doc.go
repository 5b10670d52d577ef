// Package alertsjson reads and writes OSSEC's alerts.json: one JSON object
// per line, as written by ossec-analysisd with <jsonout_output> (OSSEC 2.9 to
// 4.2) and by Wazuh.
//
// The dialect is detected per line from its keys, so a file that spans an
// upgrade reads correctly. The Reader delivers the ossec.Alert that the
// alerts.log reader gives for the same alert wherever the JSON carries the
// data: the location is rebuilt into the alerts.log "host->path" or
// "(agent) ip->path" string, OSSEC 3.2/3.3's duplicate "location" and
// "hostname" keys are resolved to the first occurrence (the one that
// encoding/json would discard), and Wazuh's nested agent, manager and data
// objects are mapped onto the same fields. Where the JSON holds less, so does
// the alert: OSSEC's JSON has no mail flag, keeps one earlier event of a
// frequency rule where alerts.log keeps up to eleven, lists pci_dss_* and
// cis_* groups outside the groups array from 3.2 on, and in 2.9 carries no id,
// time, groups or manager host (see Options.AllowNoTime).
//
// A malformed line is reported through ossec.Problems with its file:line and
// first bytes, counted, and skipped; it never stops the stream nor shifts the
// alerts around it.
//
// The package must not write files, touch the network or import the alert
// store: it turns bytes into alerts and alerts into bytes, nothing more. IP
// addresses in alerts are data, never destinations.
package alertsjson
