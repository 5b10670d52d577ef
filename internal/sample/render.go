package sample

import (
	"strconv"
	"time"
)

// clock formats log timestamps; it caches the date part of the current day
// because alerts arrive in time order.
type clock struct {
	day int64
	sys []byte // "Oct  1 "
	web []byte // "01/Oct/2026:"
}

func (c *clock) setDay(t int64) int64 {
	d := floorDiv(t, 86400)
	if d != c.day {
		c.day = d
		y, m, dd := time.Unix(d*86400, 0).UTC().Date()
		mon := m.String()[:3]
		c.sys = append(append(c.sys[:0], mon...), ' ')
		if dd < 10 {
			c.sys = append(c.sys, ' ')
		}
		c.sys = append(strconv.AppendInt(c.sys, int64(dd), 10), ' ')
		c.web = append(append2(c.web[:0], dd), '/')
		c.web = append(append(c.web, mon...), '/')
		c.web = append(strconv.AppendInt(c.web, int64(y), 10), ':')
	}
	return t - d*86400
}

func append2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

func appendHMS(b []byte, sec int64) []byte {
	b = append2(b, int(sec/3600))
	b = append(b, ':')
	b = append2(b, int(sec/60%60))
	b = append(b, ':')
	return append2(b, int(sec%60))
}

// syslog appends "Oct  1 00:00:01 host prog[pid]: ".
func (r *run) syslog(b []byte, t int64, host, prog string, pid int32) []byte {
	sec := r.clk.setDay(t)
	b = appendHMS(append(b, r.clk.sys...), sec)
	b = append(append(append(b, ' '), host...), ' ')
	b = append(b, prog...)
	if pid > 0 {
		b = strconv.AppendInt(append(b, '['), int64(pid), 10)
		b = append(b, ']')
	}
	return append(b, ": "...)
}

// webTime appends "01/Oct/2026:00:00:01 +0000".
func (r *run) webTime(b []byte, t int64) []byte {
	sec := r.clk.setDay(t)
	b = appendHMS(append(b, r.clk.web...), sec)
	return append(b, " +0000"...)
}

const hexDigits = "0123456789abcdef"

func (r *run) appendHex(b []byte, n int) []byte {
	var x uint64
	for i := range n {
		if i%16 == 0 {
			x = r.r.u64()
		}
		b = append(b, hexDigits[x&15])
		x >>= 4
	}
	return b
}

// endLine closes the current line of r.buf.
func (r *run) endLine() { r.offs = append(r.offs, len(r.buf)) }

// finish turns the lines in r.buf into r.a.Log with one allocation, then
// appends the k most recent earlier events of the session (frequency rules).
// The first line of an event that counts towards the frequency rule goes
// into the session's ring.
func (r *run) finish(s *session, k int) {
	all := string(r.buf)
	r.logs = r.logs[:0]
	from := 0
	for _, to := range r.offs {
		r.logs = append(r.logs, all[from:to])
		from = to
	}
	if s.ring != nil && r.counted {
		k = min(k, s.ring.n)
		for i := range k {
			r.logs = append(r.logs, s.ring.recent(i))
		}
		s.ring.push(r.logs[0])
	}
	r.a.Log = r.logs
	r.buf, r.offs = r.buf[:0], r.offs[:0]
}

// freq reports whether the session's latest counted event completes a
// frequency rule's window of every events, and how many earlier events the
// alert then carries (OSSEC writes up to 11).
func (r *run) freq(s *session, every int32) (bool, int) {
	r.counted = true
	s.fails++
	if s.fails%every != 0 {
		return false, 0
	}
	return true, int(min(11, every-1+int32(r.r.intn(4))))
}

// render writes the alert's log lines and fields for session s at time t
// and returns its rule.
func (r *run) render(s *session, t int64) rule {
	l := &r.t.locs[s.loc]
	// An agent's event reaches analysisd a second after it was logged.
	t0 := t - l.lag
	r.counted = false
	a := &r.a
	b := r.buf[:0]
	var ru rule
	k := 0
	newConn := func(every int32) {
		if s.fails%every == 0 {
			s.port = uint16(r.r.between(1024, 65535))
			s.pid = int32(r.r.between(1200, 64000))
		}
	}
	switch s.prof {
	case pSSH:
		newConn(3)
		b = r.syslog(b, t0, l.host, "sshd", s.pid)
		x := r.r.intn(100)
		if s.style == 2 {
			// A scanner's probes only.
			x = r.r.intn(4)
		}
		switch {
		case x < 3 && !s.quiet && s.fails%8 != 7:
			b = append(b, "Did not receive identification string from "...)
			b = a.SrcIP.AppendTo(b)
			ru = r5706
		case x == 3 && !s.quiet && s.fails%8 != 7:
			// sshd escapes the TLS hello's bytes in octal: quotes and
			// backslashes for ossec-dbd's sanitising.
			b = append(b, `Bad protocol version identification '\026\003\001\002' from `...)
			b = a.SrcIP.AppendTo(b)
			ru = r5701
		default:
			var u string
			if s.style == 0 {
				u = r.t.invalidUsers[r.r.intn(len(r.t.invalidUsers))]
				b = append(append(b, "Failed password for invalid user "...), u...)
				ru = r5710
			} else {
				u = r.t.realUsers[r.r.intn(len(r.t.realUsers))]
				b = append(append(b, "Failed password for "...), u...)
				ru = r5716
			}
			b = a.SrcIP.AppendTo(append(b, " from "...))
			a.User = u
			var f bool
			if f, k = r.freq(s, 8); f {
				ru = [2]rule{r5712, r5720}[s.style&1]
				r.blocked = true
			}
		}
		b = strconv.AppendUint(append(b, " port "...), uint64(s.port), 10)
		if ru != r5706 && ru != r5701 {
			b = append(b, " ssh2"...)
		}
		if l.port {
			a.SrcPort = s.port
		}
	case pPAM:
		newConn(3)
		b = r.syslog(b, t0, l.host, "sshd", s.pid)
		b = append(b, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost="...)
		b = a.SrcIP.AppendTo(b)
		b = append(b, "  user=root"...)
		a.User = "root"
		ru = r5503
		var f bool
		if f, k = r.freq(s, 8); f {
			ru = r5551
		}
	case pSSHOK:
		s.port = uint16(r.r.between(32768, 60999))
		b = r.syslog(b, t0, l.host, "sshd", int32(r.r.between(1200, 64000)))
		u := r.t.localUsers[int(s.user)%len(r.t.localUsers)]
		if r.r.chance(1, 10) {
			b = append(append(b, "Failed password for "...), u...)
			ru = r5716
		} else if u == "jürgen" {
			b = append(append(b, "Accepted password for "...), u...)
			ru = r5715
		} else {
			b = append(append(b, "Accepted publickey for "...), u...)
			ru = r5715
		}
		b = a.SrcIP.AppendTo(append(b, " from "...))
		b = strconv.AppendUint(append(b, " port "...), uint64(s.port), 10)
		b = append(b, " ssh2"...)
		a.User = u
		if l.port {
			a.SrcPort = s.port
		}
	case pMonitor:
		s.port = uint16(r.r.between(32768, 60999))
		b = r.syslog(b, t0, l.host, "sshd", int32(r.r.between(1200, 64000)))
		b = a.SrcIP.AppendTo(append(b, "Did not receive identification string from "...))
		b = strconv.AppendUint(append(b, " port "...), uint64(s.port), 10)
		ru = r5706
	case pWeb:
		b = a.SrcIP.AppendTo(b)
		b = r.webTime(append(b, " - - ["...), t0)
		b = append(b, "] \""...)
		status := 404
		if s.style == 1 {
			b = append(append(b, "GET "...), r.t.benignPaths[r.r.intn(len(r.t.benignPaths))]...)
			b = append(b, " HTTP/1.1"...)
			ru = r31101
		} else {
			x := r.r.intn(100)
			if s.quiet {
				// Only the 400s that rule 31151 counts.
				x = 25 + r.r.intn(75)
			}
			switch {
			case x < 8:
				b = append(append(b, "GET "...), r.t.sqliPaths[r.r.intn(len(r.t.sqliPaths))]...)
				b = append(b, " HTTP/1.1"...)
				ru = r31103
			case x < 18:
				b = append(append(b, "GET "...), r.t.attackPaths[r.r.intn(len(r.t.attackPaths))]...)
				b = append(b, " HTTP/1.1"...)
				ru, status = r31104, 400
			case x < 21:
				b = append(append(b, "POST "...), r.t.attackPaths[r.r.intn(len(r.t.attackPaths))]...)
				b = append(b, " HTTP/1.1"...)
				ru, status = r31106, 200
			case x < 25:
				// A TLS hello on the plain-HTTP port, escaped by nginx.
				b = append(b, `\x16\x03\x01\x00\xEE\x01\x00\x00\xEA\x03\x03`...)
				ru, status = r31101, 400
			default:
				b = append(append(b, "GET "...), r.t.probePaths[r.r.intn(len(r.t.probePaths))]...)
				b = append(b, " HTTP/1.1"...)
				ru = r31101
				if x%7 == 0 {
					status = 403
				}
			}
		}
		b = strconv.AppendInt(append(b, "\" "...), int64(status), 10)
		b = strconv.AppendInt(append(b, ' '), r.r.between(150, 560), 10)
		b = append(b, " \"-\" \""...)
		b = append(b, userAgent(s)...)
		b = append(b, '"')
		if ru == r31101 && s.style == 0 {
			var f bool
			if f, k = r.freq(s, 12); f {
				ru = r31151
				r.blocked = true
			}
		}
	case pMail:
		if s.style == 2 {
			b = r.syslog(b, t0, l.host, "dovecot", 0)
			u := r.t.mailTo[r.r.intn(len(r.t.mailTo))]
			u = u[:len(u)-len("@example.org")]
			b = append(append(b, "imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<"...), u...)
			b = a.SrcIP.AppendTo(append(b, ">, method=PLAIN, rip="...))
			b = append(append(b, ", lip="...), l.ip...)
			b = append(b, ", TLS, session=<"...)
			b = r.appendHex(b, 16)
			b = append(b, '>')
			a.User = u
			a.DstIP, a.DstPort = l.dst, 993
			ru = r9702
			var f bool
			if f, k = r.freq(s, 6); f {
				ru = r9750
			}
			break
		}
		b = r.syslog(b, t0, l.host, "postfix/smtpd", int32(r.r.between(1200, 64000)))
		b = a.SrcIP.AppendTo(append(b, "NOQUEUE: reject: RCPT from unknown["...))
		to := r.t.mailTo[r.r.intn(len(r.t.mailTo))]
		if s.style == 0 {
			b = append(append(append(b, "]: 554 5.7.1 <"...), to...), ">: Relay access denied"...)
			ru = r3302
		} else {
			b = a.SrcIP.AppendTo(append(b, "]: 554 5.7.1 Service unavailable; Client host ["...))
			b = append(b, "] blocked using zen.spamhaus.org"...)
			ru = r3306
		}
		b = append(append(append(b, "; from=<spameri@tiscali.it> to=<"...), to...), "> proto=ESMTP helo=<"...)
		b = append(append(b, r.t.helos[r.r.intn(len(r.t.helos))]...), '>')
		var f bool
		if f, k = r.freq(s, 6); f {
			ru = [2]rule{r3351, r3357}[s.style&1]
		}
	case pSyscheck:
		f := r.t.files[r.r.intn(len(r.t.files))]
		switch x := r.r.intn(100); {
		case x < 70:
			b = append(append(append(b, "Integrity checksum changed for: '"...), f...), '\'')
			r.buf = b
			r.endLine()
			b = strconv.AppendInt(append(r.buf, "Size changed from '"...), r.r.between(200, 90000), 10)
			b = strconv.AppendInt(append(b, "' to '"...), r.r.between(200, 90000), 10)
			b = append(b, '\'')
			for _, h := range [...]struct {
				s string
				n int
			}{{"Old md5sum was: '", 32}, {"New md5sum is : '", 32}, {"Old sha1sum was: '", 40}, {"New sha1sum is : '", 40}} {
				r.buf = b
				r.endLine()
				b = r.appendHex(append(r.buf, h.s...), h.n)
				b = append(b, '\'')
			}
			ru = r550
		case x < 85:
			b = append(append(append(b, "File '"...), f...), "' was deleted. Unable to retrieve checksum."...)
			ru = r553
		default:
			b = append(append(append(b, "New file '"...), f...), "' added to the file system."...)
			ru = r554
		}
	case pRootcheck:
		b = append(b, r.t.rootcheckMsgs[r.r.intn(len(r.t.rootcheckMsgs))]...)
		ru = r510
	case pCollector:
		files := [...]string{"/var/log/auth.log", "/var/log/nginx/access.log", "/var/log/mail.log", "/var/log/syslog"}
		f := files[r.r.intn(len(files))]
		if r.r.chance(1, 7) {
			b = append(append(append(b, "ossec: File size reduced (inode remained): '"...), f...), "'."...)
			ru = r592
		} else {
			b = append(append(append(b, "ossec: File rotated (inode changed): '"...), f...), "'."...)
			ru = r591
		}
	case pOssec:
		ag := r.t.agents[r.r.intn(len(r.t.agents))]
		switch r.r.intn(3) {
		case 0:
			b = append(b, "ossec: Ossec started."...)
			ru = r502
		case 1:
			b = append(append(append(b, "ossec: Agent started: '"...), ag...), "'."...)
			ru = r503
		default:
			b = append(append(append(b, "ossec: Agent disconnected: '"...), ag...), "'."...)
			ru = r504
		}
	case pAdmin:
		u := r.t.localUsers[int(s.user)%len(r.t.localUsers)]
		switch r.r.intn(3) {
		case 0:
			b = r.syslog(b, t0, l.host, "sshd", int32(r.r.between(1200, 64000)))
			b = append(append(append(b, "pam_unix(sshd:session): session opened for user "...), u...), " by (uid=0)"...)
			a.User = u
			ru = r5501
		case 1:
			b = r.syslog(b, t0, l.host, "sshd", int32(r.r.between(1200, 64000)))
			b = append(append(b, "pam_unix(sshd:session): session closed for user "...), u...)
			a.User = u
			ru = r5502
		default:
			b = r.syslog(b, t0, l.host, "sudo", 0)
			b = append(append(append(append(b, "  "...), u...), " : TTY=pts/0 ; PWD=/home/"...), u...)
			b = append(b, " ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx"...)
			a.User = "root"
			ru = r5402
		}
	default: // pSyslog
		b = r.syslog(b, t0, l.host, "backupd", int32(r.r.between(1200, 64000)))
		b = append(b, "error: state file /srv/backup/state is missing"...)
		ru = r1002
	}
	r.buf = b
	r.endLine()
	r.finish(s, k)
	return ru
}

// userAgent is fixed per session: a scanner keeps its tool's name.
func userAgent(s *session) string {
	uas := [...]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 zgrab/0.x", "python-requests/2.31.0", "curl/8.4.0", "Go-http-client/1.1",
		"Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)", "-",
	}
	if s.style == 1 {
		return uas[0]
	}
	return uas[int(s.user)%len(uas)]
}
