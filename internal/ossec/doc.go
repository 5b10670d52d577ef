// Package ossec is the alert model shared by every reader of OSSEC data
// (alerts.log, alerts.json, the ossec-dbd database, live follow) and by
// everything that consumes alerts (store, analytics, sensors).
//
// It holds the facts about OSSEC's own conventions that more than one reader
// needs: the "<epoch>.<n>" alert id, the location string, the spellings of a
// missing address, and ossec-dbd's text sanitising. It imports only the
// standard library and must never do I/O.
package ossec
