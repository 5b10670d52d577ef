// Package sample generates realistic OSSEC alerts, deterministically, together
// with the ground truth of what it planted in them. Rampart's tests and
// benchmarks use it to check "rampart top" and its peers against an answer
// that was not computed by Rampart.
//
// It produces ossec.Alert values only. Writing them as alerts.log,
// alerts.json or ossec-dbd rows is the writers' job. It must never do I/O,
// read the clock, use map iteration order, import internal/analytics or any
// classifier (a planted Kind comes from the list the address was drawn from,
// never from looking at the address), or keep package-level state.
//
// # Determinism
//
// Every decision is drawn from one math/rand/v2 PCG seeded with
// Config.Seed. The generator calls only PCG.Uint64 and uses only integer
// arithmetic, correctly rounded float operations (+, −, ×, ÷, square
// roots, each product rounded on its own, never fused into a multiply-add)
// and sums in a fixed order. rand.Rand's bounded helpers work differently
// on 32-bit platforms, math.Pow/Exp/Log may differ in the last bit between
// architectures, and Go may fuse a×b+c on some of them, so it avoids all
// three. Exponential gaps (the slow attacker's) are drawn by inversion,
// −ln U, with the logarithm taken bit by bit in 64-bit fixed point
// (repeated squaring, bits.Mul64) and the gaps summed in fixed point too.
// The same Config gives byte-identical alerts on every platform;
// testdata/default.golden pins the hash of the shipped example.
//
// # Time model
//
// Every source's alerts come in sessions (a bot's visit, a syscheck scan, a
// monitoring probe's run), each a run of alerts a few seconds apart, placed
// in the source's active window. All merges the sessions by time, so alerts
// come in non-decreasing time order within [Start, Start+Duration). Alert
// times are whole seconds. ID.Epoch is the time and ID.Seq counts from 1
// within each second. The truth never depends on Seq, so a writer may
// replace it with a byte offset. Log lines carry the same time, or one
// second earlier for agents. Local and administrative activity favours
// 07:00–19:00 UTC. Log rotation happens at 06:25 (cron.daily).
//
// # What is planted, for N = Config.Alerts
//
// The traps (returners, the slow attacker, look-alikes, local and
// loopback sources, bursts, alerts without source) come first in the
// budget, so all of them are present at the shipped 5,000 alerts. The
// internet attackers get what is left, so the total is exactly N.
//
//   - The returners (Kind Returner; SourceTruth.Block is the block they
//     meet). They attack agents, where each block lasts what OSSECConf's
//     active response says: only the manager's own execd reads that file's
//     repeated_offenders, and the agents set none.
//   - The 600 s returner, the seed's bot that "adapts" to OSSEC's 600 s
//     block. It brute-forces sshd on the agent "bastion" in rounds of
//     seven 5710 alerts (or 5716), 1–4 s apart, then a level-10 5712 (or
//     5720) that carries the earlier events and triggers firewall-drop
//     and host-deny for 600 s. It comes back 603–617 s after that alert.
//     It plays N·4%/8 rounds, at least 6 and at most 420 (70 hours), as
//     many as fit the duration. From N = 750,000 on there are N/750,000
//     more 600 s returners with 30–150 rounds and their own delays, all
//     within 601–618 s.
//   - The 3,600 s returner, a web scanner on fe01's nginx: rounds of
//     eleven 31101 (404s and 403s to its probes), 1–4 s apart, then the
//     twelfth as a level-10 31151 ("Multiple web server 400 error codes
//     from same source ip"), which OSSECConf drops for 3,600 s. It comes
//     back 3,603–3,620 s after that alert. It plays N·2%/12 rounds, at
//     least 8 and at most 120 (5 days), as many as fit the duration.
//     Neither returner writes anything else of level 6 or more, which
//     would set off another block.
//   - The slow attacker (Kind Slow): single sshd probes on the agents
//     (5706 "Did not receive identification string", 5701 "Bad protocol
//     version identification"), at the arrival times of a Poisson process
//     over the whole duration: exponential gaps of mean Duration/k,
//     k = N/80 (30 to 1,000), so about 60 alerts at 5,000 over 14 days
//     (gaps of about 5 hours) and 1,000 at 300,000 (20 minutes). Every
//     probe (level 6 or 8) triggers the 600 s block, and the next comes
//     whenever it comes: its returns do not cluster after the block, so
//     it must not pass for a returner.
//   - Look-alikes (Kind LookAlike): internet addresses that string matching
//     confuses with local ones. 110.40.0.5 and 210.40.0.17 contain
//     "10.40.0.". 172.15.255.1, 172.32.0.1, 100.63.255.254, 100.128.0.1 and
//     169.255.0.1 lie just outside 172.16/12, 100.64/10 and 169.254/16.
//     11.40.0.1 is the neighbour of 10/8. Next to them, 10.40.1.5 and
//     192.168.1.20 lie outside the seed's /24s but inside the default
//     local networks, so they are Local. Each has 3 to 3+N/1500 alerts.
//   - Loopback (Kind Loopback), 0.6% of N: 127.0.0.1 (health checks of
//     nginx, webmail logins to dovecot) and ::1.
//   - Local networks (Kind Local), 5% of N. From the seed's 10.40.0.0/24
//     and 192.168.0.0/24: a check_ssh probe every 300 s (a regular cadence
//     that must not pass for a returner), an admin workstation whose
//     alerts sometimes spell it "::ffff:10.40.0.23", an internal
//     vulnerability scanner, mail clients with wrong passwords, plus
//     N/25,000 ordinary hosts (4–200). Edge cases of the other local
//     networks: 172.20.3.7, 172.31.255.254, 100.72.14.3, 100.127.255.254,
//     169.254.12.7, fd12:3456:789a:1::23, fe80::1c2d:3eff:fe4f:5a6b.
//   - Bursts (Kind Burst): 2+N/300,000 internet hosts that each fire
//     N/250 alerts (20–3,000), 0–1 s apart, within minutes, as a web
//     scanner or an ssh brute-forcer, in one session: they never come
//     back.
//   - No source address, 3.5% of N: syscheck (550 with the multi-line
//     "Integrity checksum changed for: '/etc/…'" / "Old md5sum was: …"
//     block, 553, 554), rootcheck 510, ossec-logcollector 591/592, OSSEC's
//     own 502/503/504, pam sessions and sudo (5501, 5502, 5402), and 1002.
//   - Internet attackers (Kind Internet), the rest of N. There are
//     0.7·N^0.75 sources: a few hundred at 5,000 alerts, about 50,000 at
//     3,000,000. 60% are a long tail of scanners with 1–5 alerts. The
//     others, the head, share the remaining alerts by a Zipf law of
//     exponent 1, weight 1/rank + a/rank², where a is solved so that the
//     busiest source holds 9.5–10.5% of N (by seed): about 500 alerts at
//     5,000, 300,000 at 3,000,000, as in real OSSEC data where one
//     brute-forcer dwarfs the rest. The next fall off roughly as 1/rank
//     (the tenth has about a tenth of the first); the smallest of the
//     head have around ten alerts at 3,000,000. The busiest is an
//     ordinary IPv4 sshd brute-forcer, invalid users (5710, 5712) and
//     real ones (5716, 5720), whose sessions spread over the whole
//     duration and many agents. Between 12 and 200 of the attackers
//     (one in 25) live in 218.92.0.0/24, the seed's "218.92.0.xxx": one
//     among the four largest attackers, two more among the ten largest,
//     then the largest of the rest from the eleventh on until the /24
//     holds at least 13% of N, then random ones. So 218.92.0.0/24 is
//     the largest /24 or /64 by a clear margin at every N from 5,000 on
//     (13–16% of N against the 9.5–10.5% of the busiest source, a single
//     address).
//     4% (at least 6) are IPv6 from hosting providers' global /64s (never
//     2001:db8::/32), most in 2a01:4f8:c17:2d4e::/64. Between 3 and 25
//     (one in 200) IPv4 attackers, one of them the second, third or fourth
//     largest, have every third alert spell the source "::ffff:a.b.c.d"
//     (Alert.SrcIP is the IPv4-mapped netip.Addr). Rampart must merge the
//     two spellings; the truth keys the source by its plain IPv4 address.
//     Attackers brute-force sshd (5710/5716, every 8th alert a
//     5712/5720), pam (5503, 5551), scan web servers (31101/31103/31104/
//     31106, every 12th 400 a 31151), or spam postfix and dovecot
//     (3302/3306 and 3351/3357, 9702 and 9750).
//
// The generator never asks LocalNetworks where an address lies; the tests
// check the planted kinds against it.
//
// # What the alerts look like
//
// The rules carry the ids, levels, descriptions and groups of OSSEC's
// stock rules. Log lines are in the daemons' real formats and contain the
// source address as the alert spells it:
//
//   - sshd: "Failed password for invalid user admin from <ip> port <p>
//     ssh2", "Did not receive identification string from <ip> port <p>",
//     and "Bad protocol version identification '\026\003\001\002' …"
//     (quotes and backslashes).
//   - nginx/apache: combined access log lines, among them an escaped TLS
//     hello "\x16\x03…".
//   - postfix: "NOQUEUE: reject: RCPT from unknown[<ip>]: 554 5.7.1 …".
//   - dovecot: "imap-login: Disconnected (auth failed…): user=<…>,
//     rip=<ip>, lip=<ip>".
//
// Frequency rules carry 7 to 11 of the session's earlier events as extra
// lines, most recent first, as alerts.log does. User names include
// "o'neil", "jürgen" and "админ", for ossec-dbd's sanitising. Src Port
// appears on sshd alerts of some locations. Dst IP and Dst Port appear on
// dovecot alerts. The mail flag is set at level 7 and above
// (email_alert_level 7).
//
// Locations:
//
//   - the manager "ossec-mgr" with manager-local logs
//     ("ossec-mgr->/var/log/auth.log"), syscheck, rootcheck,
//     ossec-logcollector and ossec-monitord;
//   - eleven agents such as "(fe01) 10.40.0.11->/var/log/nginx/access.log",
//     one of them registered as "any";
//   - the agentless
//     "ossec-mgr->(ssh_integrity_check_linux) root@10.40.0.9->syscheck".
//
// # Truth
//
// Generator.Truth counts what All has yielded, as it yields it: per source
// (unmapped address, Kind, count, mapped-spelling count, first and last
// seen, highest level, count per rule, a returner's block), the alerts
// without a source, and the total. Sum of counts + NoSource = Total = N.
//
// OSSECConf is the manager's ossec.conf that goes with the alerts: its
// active responses block each returner's round-ending alert for exactly
// SourceTruth.Block, and each of the slow attacker's probes for 600 s.
package sample
