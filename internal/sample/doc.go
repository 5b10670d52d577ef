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
// three. The same Config gives byte-identical alerts on every platform;
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
// The traps come first in the budget, so all of them are present at the
// shipped 5,000 alerts. The internet attackers get what is left, so the
// total is exactly N.
//
//   - The returner (Kind Returner), the seed's bot that "adapts" to OSSEC's
//     600 s block. It brute-forces the manager's sshd in rounds of seven
//     5710 alerts (or 5716), 1–4 s apart, then a level-10 5712 (or 5720)
//     that carries the earlier events and would trigger active response.
//     It comes back 603–617 s later. It plays N·4%/8 rounds, at least 6 and
//     at most 420 (70 hours), as many as fit the duration. From
//     N = 750,000 on there are N/750,000 more returners with 30–150 rounds
//     and their own delays, all within 601–620 s.
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
//     N/250 alerts (20–3,000) within minutes, as a web scanner or an ssh
//     brute-forcer.
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
//     (N/25) live in 218.92.0.0/24, the seed's "218.92.0.xxx", three of
//     them among the ten largest attackers, one among the four largest.
//     4% (at least 6) are IPv6 from hosting providers' global /64s (never
//     2001:db8::/32), most in 2a01:4f8:c17:2d4e::/64. Between 3 and 25
//     (N/200) IPv4 attackers, one of them the second, third or fourth
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
// seen, highest level, count per rule), the alerts without a source, and
// the total. Sum of counts + NoSource = Total = N.
package sample
