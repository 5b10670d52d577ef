package sample

import _ "embed" // the manager's ossec.conf

//go:embed ossec.conf
var ossecConf string

// OSSECConf returns the ossec.conf of the sample's manager, in OSSEC's own
// format: the active responses whose blocks the returners meet (rule 31151
// blocks for 3,600 s, every other alert of level 6 or more, the slow
// attacker's probes among them, for 600 s; see SourceTruth.Block), execd's repeated_offenders ladder, the white list of
// the seed's networks, and the usual sections OSSEC's installer writes.
// Writers put it beside the alerts, so that Rampart reads the blocks from
// the same file an operator has.
func OSSECConf() []byte { return []byte(ossecConf) }
