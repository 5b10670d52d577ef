// Package cadence measures how attackers return against OSSEC's active
// response: for each source, the episodes of its activity, the blocks its
// alerts triggered, and how long after each block started it came back. A
// source whose returns cluster just after its blocks expire waits the block
// out: it is flagged, with the shortest ban that would have kept it away.
//
// # Model
//
// An alert triggers a block when the Policy says so (built by the caller
// from ossec.conf's <active-response> blocks, or OSSEC's stock response:
// level ≥ 6 for 600 s). The block starts at the triggering alert and
// follows execd (src/os_execd/execd.c): it is lifted once more than its
// length has passed; a trigger while it holds restarts it and keeps its
// length; where the response runs through an execd with a
// repeated_offenders ladder (Response.Escalates: the manager's, whose
// ossec.conf the caller read; agents are assumed to have none), the
// source's first such trigger gets the response's timeout and each later
// one the next step, staying at the last, blocked or not. Triggers of one
// second are one block start (the alert and the events a frequency rule
// carries arrive together). Sources the Policy exempts (ossec.conf's
// white_list) are never blocked.
//
// The return gap of a block is the time from its start to the source's
// next alert after it (strictly later second). A gap shorter than the block
// is an alert the block did not stop (another agent, a log still in
// flight, or the next trigger); a gap in [block, block + tolerance] is a
// return just after expiry. A block with no later alert has no return.
//
// A source with fewer than Options.MinReturns returns has "not enough
// data" and is never flagged. Otherwise it is flagged when the share of
// its returns just after expiry reaches Options.Threshold. A Poisson
// attacker, whatever its rate, puts at most about 3.5 % of its returns in
// a 60 s window after a 600 s block, a burst's returns are seconds, and a
// fixed probe shorter than the block returns during it: none is flagged.
//
// The recommended ban is the shortest step of Options.Ladder (ossec.conf's
// repeated_offenders steps, or DefaultLadder) that is at least the
// Options.Coverage quantile of the return gaps, so that blocks of that
// length would have held across that share of the observed returns. When
// no step is long enough, the longest one is recommended and marked
// capped.
//
// Episodes are runs of alerts separated by more than Options.EpisodeGap of
// silence (default 60 s: a brute-force round is alerts a few seconds apart;
// a bot back from a 600 s block starts a new one). They describe a source;
// the flag rests on return gaps alone.
//
// A source has one block at a time here, wherever it runs: execd keeps one
// per host and response script, and a block on one agent does not stop
// alerts from another (such an alert is a return during the block).
// Escalation is counted over the analysed alerts, as if execd had run
// without restart.
//
// It is pure computation over the standard library: it reads no files,
// stores or configuration, and never treats an address as a destination.
package cadence
