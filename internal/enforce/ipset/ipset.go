//go:build linux

package ipset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// Names of what the enforcer owns. Nothing else is touched.
const (
	Set4Name  = "rampart4"
	Set6Name  = "rampart6"
	TmpSuffix = "-tmp"
)

// MaxTimeout is the longest timeout ipset accepts. An entry that expires
// later gets this timeout (its comment keeps the real expiry): the kernel
// drops it early, and the next Apply adds it again.
const MaxTimeout = 2147483 * time.Second

// commentPrefix starts the comment that carries an entry's absolute expiry
// (Unix seconds). The kernel only knows the remaining timeout, which counts
// down; without the absolute time every Status would differ from the wish
// list and every Apply would rebuild the sets.
const commentPrefix = "rampart-exp="

// Options configure an Enforcer. The zero value drops on INPUT in the
// current network namespace.
type Options struct {
	// NetNS names a network namespace (as listed by `ip netns`) to act on:
	// every command then runs under `ip netns exec NetNS`. Empty: the
	// namespace the process runs in.
	NetNS string
	// Action is drop (default) or reject.
	Action enforce.Action
	// Forward also blocks traffic routed through the host (FORWARD chain).
	Forward bool
	// IPSet, IPTables and IP6Tables are the commands to run (default
	// "ipset", "iptables", "ip6tables", looked up in PATH).
	IPSet, IPTables, IP6Tables string
	// Now is the clock for timeouts (default time.Now).
	Now func() time.Time
	// Logger receives one line per change (default: discarded).
	Logger *slog.Logger
}

// Enforcer is the ipset back end. It keeps no state: every call reads the
// kernel through ipset(8) and iptables(8). Calls must not run concurrently on
// one namespace.
type Enforcer struct {
	opts Options
	log  *slog.Logger
	fams [2]family
}

var _ enforce.Enforcer = (*Enforcer)(nil)

// family is what differs between IPv4 and IPv6.
type family struct {
	set, tmp string // set names
	inet     string // ipset family
	ipt      string // iptables command
	reject   string // --reject-with value
	is6      bool
}

// New returns an Enforcer; it runs no command until used.
func New(opts Options) (*Enforcer, error) {
	if opts.Action != enforce.Drop && opts.Action != enforce.Reject {
		return nil, fmt.Errorf("ipset: unknown action %d", int(opts.Action))
	}
	if opts.IPSet == "" {
		opts.IPSet = "ipset"
	}
	if opts.IPTables == "" {
		opts.IPTables = "iptables"
	}
	if opts.IP6Tables == "" {
		opts.IP6Tables = "ip6tables"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Enforcer{
		opts: opts,
		log:  log.With("component", "enforce/ipset"),
		fams: [2]family{
			{set: Set4Name, tmp: Set4Name + TmpSuffix, inet: "inet", ipt: opts.IPTables, reject: "icmp-admin-prohibited"},
			{set: Set6Name, tmp: Set6Name + TmpSuffix, inet: "inet6", ipt: opts.IP6Tables, reject: "icmp6-adm-prohibited", is6: true},
		},
	}, nil
}

// Name is the back end's name on the command line.
func (e *Enforcer) Name() string { return "ipset" }

// Apply converges both sets and the rules to set. A family whose entries
// and set header already fit is left alone (an unchanged set is never
// rebuilt, so applying the same set twice runs only the reads); a family that
// changes is rebuilt whole in its temporary set and swapped in.
func (e *Enforcer) Apply(ctx context.Context, set []enforce.Entry) (enforce.Result, error) {
	now := e.opts.Now()
	want, err := desired(set, now)
	if err != nil {
		return enforce.Result{}, fmt.Errorf("ipset: apply: %w", err)
	}
	st, err := e.read(ctx, now)
	if err != nil {
		return enforce.Result{}, fmt.Errorf("ipset: apply: %w", err)
	}
	var res enforce.Result
	var plan plan
	for i, f := range e.fams {
		have := &st.sets[i]
		if have.exists && (have.typ != "hash:net" || have.family != f.inet) {
			return enforce.Result{}, fmt.Errorf("ipset: apply: set %s exists as %s family %s, not hash:net family %s: it cannot be swapped; remove it (rampart enforce remove --backend ipset) and apply again",
				f.set, have.typ, have.family, f.inet)
		}
		add, del, kept := diff(want[i], have.entries)
		res.Added += add
		res.Removed += del
		res.Kept += kept
		if add == 0 && del == 0 && have.exists && have.fits(want[i]) {
			continue
		}
		plan.rebuild(f, have.exists, want[i], now)
	}
	for _, f := range e.fams {
		if st.names[f.tmp] {
			plan.pre = append(plan.pre, "destroy "+f.tmp)
		}
	}
	if !plan.empty() {
		start := time.Now()
		err := e.restore(ctx, &plan)
		res.Duration = time.Since(start)
		if err != nil {
			return enforce.Result{}, fmt.Errorf("ipset: apply (previous sets kept): %w", err)
		}
		if plan.capped > 0 {
			e.log.Warn("expiries beyond the ipset maximum timeout capped; the next apply after that adds them again",
				"entries", plan.capped, "max_timeout_seconds", int64(MaxTimeout/time.Second))
		}
	}
	changed, err := e.ensureRules(ctx, st)
	if err != nil {
		if !st.sets[0].exists && !st.sets[1].exists && len(st.rules[0])+len(st.rules[1]) == 0 {
			// Nothing of ours was there before: undo all of it.
			err = errors.Join(err, e.Remove(context.WithoutCancel(ctx)))
		}
		return enforce.Result{}, fmt.Errorf("ipset: apply: %w", err)
	}
	if !plan.empty() || changed {
		e.log.Info("applied", "added", res.Added, "removed", res.Removed, "kept", res.Kept,
			"rules_changed", changed, "duration_seconds", res.Duration.Seconds())
	}
	return res, nil
}

// desired validates the entries and splits them by family, expiries in
// UTC whole seconds (what a comment can carry), expired ones left out.
func desired(set []enforce.Entry, now time.Time) ([2][]enforce.Entry, error) {
	var out [2][]enforce.Entry
	for i, en := range set {
		p := en.Prefix
		switch {
		case !p.IsValid():
			return out, fmt.Errorf("entry %d: invalid prefix %q", i, p)
		case p.Addr().Is4In6():
			return out, fmt.Errorf("entry %d: prefix %q is IPv4-mapped (normalise it first)", i, p)
		case p != p.Masked():
			return out, fmt.Errorf("entry %d: prefix %q has host bits set (want %q)", i, p, p.Masked())
		case p.Addr().Zone() != "":
			return out, fmt.Errorf("entry %d: prefix %q has a zone", i, p)
		case p.Bits() == 0:
			// ipset's hash:net refuses /0: it would block everyone anyway.
			return out, fmt.Errorf("entry %d: prefix %q covers the whole address family", i, p)
		}
		if !en.Expires.IsZero() {
			if !en.Expires.After(now) {
				continue
			}
			en.Expires = en.Expires.UTC().Truncate(time.Second)
		}
		k := 0
		if p.Addr().Is6() {
			k = 1
		}
		out[k] = append(out[k], en)
	}
	for _, es := range out {
		byPrefix := func(a, b enforce.Entry) int { return enforce.ComparePrefix(a.Prefix, b.Prefix) }
		if !slices.IsSortedFunc(es, byPrefix) {
			slices.SortFunc(es, byPrefix)
		}
		for i := 1; i < len(es); i++ {
			if es[i-1].Prefix == es[i].Prefix {
				return out, fmt.Errorf("prefix %q is listed twice (normalise the set first)", es[i].Prefix)
			}
		}
	}
	return out, nil
}

// diff counts what changes between want and have, both sorted by prefix
// without duplicates; as enforce.Diff, an expiry change is a remove and an
// add. A merge walk: maps over 100,000 entries cost more than the reads.
func diff(want, have []enforce.Entry) (add, del, kept int) {
	i, j := 0, 0
	for i < len(want) && j < len(have) {
		switch c := enforce.ComparePrefix(want[i].Prefix, have[j].Prefix); {
		case c < 0:
			add++
			i++
		case c > 0:
			del++
			j++
		default:
			if want[i].Expires.Equal(have[j].Expires) {
				kept++
			} else {
				add++
				del++
			}
			i++
			j++
		}
	}
	return add + len(want) - i, del + len(have) - j, kept
}

// plan is one ipset restore: preparation, the fill of new sets, and the
// swaps, in that order, so that nothing reaches the live sets until every
// new set is complete.
type plan struct {
	pre     []string
	fill    bytes.Buffer
	fillN   int // lines in fill
	swaps   []string
	created []string // sets the restore creates and a failure must destroy
	capped  int
}

func (p *plan) empty() bool { return len(p.pre) == 0 && p.fillN == 0 && len(p.swaps) == 0 }

// rebuild writes a new set for f holding want: the live set itself when
// there is none yet, else the temporary set, swapped in and destroyed.
func (p *plan) rebuild(f family, exists bool, want []enforce.Entry, now time.Time) {
	target := f.set
	if exists {
		target = f.tmp
		p.swaps = append(p.swaps, "swap "+f.tmp+" "+f.set, "destroy "+f.tmp)
	}
	p.created = append(p.created, target)
	expiring := slices.ContainsFunc(want, func(e enforce.Entry) bool { return !e.Expires.IsZero() })
	b := p.fill.AvailableBuffer()
	b = append(b, "create "...)
	b = append(b, target...)
	b = append(b, " hash:net family "...)
	b = append(b, f.inet...)
	b = append(b, " hashsize "...)
	b = strconv.AppendInt(b, int64(hashSize(len(want))), 10)
	b = append(b, " maxelem "...)
	b = strconv.AppendInt(b, int64(maxElem(len(want))), 10)
	if expiring {
		b = append(b, " timeout 0 comment"...)
	}
	b = append(b, '\n')
	p.fill.Write(b)
	p.fillN++
	for _, en := range want {
		b := p.fill.AvailableBuffer()
		b = append(b, "add "...)
		b = append(b, target...)
		b = append(b, ' ')
		b = en.Prefix.AppendTo(b)
		if !en.Expires.IsZero() {
			secs := int64((en.Expires.Sub(now) + time.Second - 1) / time.Second)
			if secs > int64(MaxTimeout/time.Second) {
				secs = int64(MaxTimeout / time.Second)
				p.capped++
			}
			b = append(b, " timeout "...)
			b = strconv.AppendInt(b, secs, 10)
			b = append(b, ` comment "`+commentPrefix...)
			b = strconv.AppendInt(b, en.Expires.Unix(), 10)
			b = append(b, '"')
		}
		b = append(b, '\n')
		p.fill.Write(b)
		p.fillN++
	}
}

// hashSize is the initial bucket count: a power of two near half the
// entries, so a big restore does not resize the hash table over and over
// (which costs a third of a plain restore of 100,000 entries).
func hashSize(n int) int { return max(1024, nextPow2(n)/2) }

// maxElem leaves room to grow to twice the list before the set is full.
func maxElem(n int) int { return max(65536, nextPow2(2*n)) }

func nextPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

var errLine = regexp.MustCompile(`Error in line ([0-9]+):`)

// restore runs the plan as one `ipset restore`. ipset restore is not a
// transaction: on a failure before the swaps the half-built sets are
// destroyed and the live ones were never touched. A swap refused because a
// set is busy (the kernel refuses to swap a set while it is being dumped) is
// retried from the failed line on.
func (e *Enforcer) restore(ctx context.Context, p *plan) error {
	var script bytes.Buffer
	for _, l := range p.pre {
		script.WriteString(l + "\n")
	}
	script.Write(p.fill.Bytes())
	for _, l := range p.swaps {
		script.WriteString(l + "\n")
	}
	before, swaps := len(p.pre)+p.fillN, p.swaps
	_, err := e.run(ctx, script.Bytes(), e.opts.IPSet, "restore")
	for attempt := 0; err != nil && attempt < 50 && busy(err); attempt++ {
		i := failedLine(err) - before - 1
		if i < 0 || i >= len(swaps) {
			break
		}
		// The new sets are complete; only the swaps from this line on
		// remain, and a refused swap changed nothing.
		swaps, before = swaps[i:], 0
		e.log.Debug("swap refused as busy (a set is being dumped), retrying", "line", swaps[0], "attempt", attempt+1)
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), e.cleanup(ctx, p))
		case <-time.After(min(time.Duration(attempt+1)*5*time.Millisecond, 100*time.Millisecond)):
		}
		_, err = e.run(ctx, []byte(strings.Join(swaps, "\n")+"\n"), e.opts.IPSet, "restore")
	}
	if err == nil {
		return nil
	}
	return errors.Join(err, e.cleanup(ctx, p))
}

// cleanup destroys what a failed restore may have left: the temporary
// sets, and live sets this call created (there was nothing before them).
func (e *Enforcer) cleanup(ctx context.Context, p *plan) error {
	ctx = context.WithoutCancel(ctx)
	names, err := e.listNames(ctx)
	if err != nil {
		return fmt.Errorf("clean up after the failed restore: %w", err)
	}
	var script bytes.Buffer
	for _, s := range p.created {
		if names[s] {
			script.WriteString("destroy " + s + "\n")
		}
	}
	for _, f := range e.fams {
		if names[f.tmp] && !slices.Contains(p.created, f.tmp) {
			script.WriteString("destroy " + f.tmp + "\n")
		}
	}
	if script.Len() == 0 {
		return nil
	}
	if _, err := e.run(ctx, script.Bytes(), e.opts.IPSet, "restore"); err != nil {
		return fmt.Errorf("clean up after the failed restore: %w", err)
	}
	return nil
}

func busy(err error) bool {
	s := err.Error()
	return strings.Contains(s, "busy") || strings.Contains(s, "in use")
}

// failedLine is the line ipset restore reports for its error, or 0.
func failedLine(err error) int {
	m := errLine.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
