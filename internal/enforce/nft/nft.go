//go:build linux

package nft

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"go4.org/netipx"
	"golang.org/x/sys/unix"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// Names of what the enforcer owns. Nothing outside TableName is touched.
const (
	TableName = "rampart"
	Set4Name  = "blocklist4"
	Set6Name  = "blocklist6"
	InputName = "input"
	FwdName   = "forward"
)

// Priority of the base chains. -200 runs before the mangle (-150), filter
// (0) and security (50) chains that firewalld, ufw, Docker and iptables-nft
// register, so a blocked packet is dropped before they spend work on it or
// count and log it. (A drop is final whatever the priority: an accept in an
// earlier chain cannot let a blocked source through.)
const Priority = -200

// Options configure an Enforcer. The zero value drops on input in the
// current network namespace, without logging.
type Options struct {
	// NetNS is an open file descriptor of the network namespace to act on
	// (0: the caller's). The caller keeps it open while the Enforcer is used.
	NetNS int
	// Action is drop (default) or reject.
	Action enforce.Action
	// Forward adds a forward chain: also block traffic routed through.
	Forward bool
	// LogRate, when above zero, logs blocked packets at up to this many per
	// minute with LogPrefix (default "rampart: ").
	LogRate   uint32
	LogPrefix string
	// Now is the clock for timeouts (default time.Now).
	Now func() time.Time
	// Logger receives one line per change (default: discarded).
	Logger *slog.Logger
}

// Enforcer is the nftables back end. It keeps no state of its own: every
// call reads the kernel. Calls must not run concurrently on one namespace.
type Enforcer struct {
	opts  Options
	log   *slog.Logger
	table *nftables.Table

	// mu guards cache: the state this Enforcer last committed, valid only
	// while the kernel's ruleset generation is still cacheGen, i.e. while
	// no one else has committed anything in the namespace since. It lets an
	// update skip re-reading a large set, which costs far more than the
	// update itself.
	mu       sync.Mutex
	cache    *state
	cacheGen uint32
}

var _ enforce.Enforcer = (*Enforcer)(nil)

// New returns an Enforcer; it does not touch the kernel until used.
func New(opts Options) (*Enforcer, error) {
	if opts.Action != enforce.Drop && opts.Action != enforce.Reject {
		return nil, fmt.Errorf("nft: unknown action %d", int(opts.Action))
	}
	if opts.LogPrefix == "" {
		opts.LogPrefix = "rampart: "
	}
	if len(opts.LogPrefix) > 127 {
		return nil, fmt.Errorf("nft: log prefix %q is longer than 127 bytes", opts.LogPrefix)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Enforcer{
		opts:  opts,
		log:   log.With("component", "enforce/nft"),
		table: &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet},
	}, nil
}

// Name is the back end's name on the command line.
func (e *Enforcer) Name() string { return "nft" }

// state is what the kernel holds in our table.
type state struct {
	exists     bool // the table
	setsOK     bool // both sets exist
	rulesOK    bool // chains and rules match the options
	v4, v6     []interval
	hasForward bool
}

// Apply converges the sets to set in one netlink batch. Entries that have
// already expired by the enforcer's clock are left out. Invalid, unmasked or
// overlapping prefixes are refused before anything is sent.
func (e *Enforcer) Apply(ctx context.Context, set []enforce.Entry) (enforce.Result, error) {
	now := e.opts.Now()
	want4, want6, err := desired(set, now)
	if err != nil {
		return enforce.Result{}, fmt.Errorf("nft: apply: %w", err)
	}
	// One retry covers an element that expired between the read and the
	// batch: deleting it fails with ENOENT and aborts the transaction.
	e.mu.Lock()
	defer e.mu.Unlock()
	for attempt := 0; ; attempt++ {
		res, err := e.apply(ctx, want4, want6, now)
		if err != nil {
			e.cache = nil
		}
		if err != nil && attempt == 0 && errors.Is(err, unix.ENOENT) {
			now = e.opts.Now()
			continue
		}
		return res, err
	}
}

func (e *Enforcer) apply(ctx context.Context, want4, want6 []interval, now time.Time) (enforce.Result, error) {
	if err := ctx.Err(); err != nil {
		return enforce.Result{}, err
	}
	raw, err := dialRaw(e.opts.NetNS)
	if err != nil {
		return enforce.Result{}, fmt.Errorf("nft: apply: %w", err)
	}
	defer raw.Close()
	gen, err := raw.gen()
	if err != nil {
		return enforce.Result{}, fmt.Errorf("nft: apply: %w", err)
	}
	var st state
	if e.cache != nil && e.cacheGen == gen {
		st = e.cache.live(now)
	} else if st, gen, err = e.read(raw, now); err != nil {
		return enforce.Result{}, fmt.Errorf("nft: apply: %w", err)
	}
	e.cache = nil
	add4, del4, kept4 := diff(want4, st.v4)
	add6, del6, kept6 := diff(want6, st.v6)
	res := enforce.Result{Added: len(add4) + len(add6), Removed: len(del4) + len(del6), Kept: kept4 + kept6}
	setup := !st.exists || !st.setsOK || !st.rulesOK
	if res.Added == 0 && res.Removed == 0 && !setup {
		e.cache, e.cacheGen = &st, gen
		return res, nil
	}

	set4, set6 := e.sets()
	var b batch
	if setup {
		e.setup(&b, set4, set6, st)
	}
	// Deletions first: an entry whose expiry changed is removed and added
	// again under the same keys within the transaction.
	b.elems(set4, del4, now, true)
	b.elems(set6, del6, now, true)
	b.elems(set4, add4, now, false)
	b.elems(set6, add6, now, false)

	if err := ctx.Err(); err != nil {
		return enforce.Result{}, err
	}
	conn, err := e.conn(b.bytes, len(b.ops))
	if err != nil {
		return enforce.Result{}, fmt.Errorf("nft: apply: %w", err)
	}
	for _, op := range b.ops {
		if err := op(conn); err != nil {
			return enforce.Result{}, fmt.Errorf("nft: apply: encode: %w", err)
		}
	}
	start := time.Now()
	err = conn.Flush()
	res.Duration = time.Since(start)
	if err != nil {
		return enforce.Result{}, fmt.Errorf("nft: apply (nothing changed, previous state kept): %w", explain(err))
	}
	// Our commit is the only one since the read exactly when the
	// generation moved by one: then the kernel holds what we sent.
	if after, err := raw.gen(); err == nil && after == gen+1 {
		e.cache = &state{exists: true, setsOK: true, rulesOK: true, v4: want4, v6: want6, hasForward: e.opts.Forward}
		e.cacheGen = after
	}
	e.log.Info("applied", "added", res.Added, "removed", res.Removed, "kept", res.Kept,
		"setup", setup, "duration_seconds", res.Duration.Seconds())
	return res, nil
}

// batch collects the operations of one transaction and an estimate of its
// size, so the socket buffers can be sized before the connection is made.
type batch struct {
	ops   []func(*nftables.Conn) error
	bytes int
}

func (b *batch) add(size int, op func(*nftables.Conn) error) {
	b.ops = append(b.ops, op)
	b.bytes += size + 64
}

func (b *batch) elems(s *nftables.Set, ivs []interval, now time.Time, del bool) {
	if len(ivs) == 0 {
		return
	}
	elems := make([]nftables.SetElement, 0, 2*len(ivs))
	for _, iv := range ivs {
		elems = append(elems, iv.elements(now, !del)...)
	}
	for _, c := range chunk(elems) {
		size := 0
		for _, el := range c {
			size += elemSize(el)
		}
		if del {
			b.add(size, func(conn *nftables.Conn) error { return conn.SetDeleteElements(s, c) })
		} else {
			b.add(size, func(conn *nftables.Conn) error { return conn.SetAddElements(s, c) })
		}
	}
}

func (e *Enforcer) sets() (set4, set6 *nftables.Set) {
	// Explicit IDs: the library's own counter is a shared global, and IDs
	// only need to be unique within one batch.
	set4 = &nftables.Set{Table: e.table, ID: 1, Name: Set4Name, KeyType: nftables.TypeIPAddr, Interval: true, HasTimeout: true}
	set6 = &nftables.Set{Table: e.table, ID: 2, Name: Set6Name, KeyType: nftables.TypeIP6Addr, Interval: true, HasTimeout: true}
	return set4, set6
}

// setup (re)declares the table, sets and chains and rewrites the rules. The
// declarations are create-if-missing, so existing sets keep their elements;
// flushing and refilling the chains within the batch leaves no gap.
func (e *Enforcer) setup(b *batch, set4, set6 *nftables.Set, st state) {
	b.add(64, func(c *nftables.Conn) error { c.AddTable(e.table); return nil })
	b.add(128, func(c *nftables.Conn) error { return c.AddSet(set4, nil) })
	b.add(128, func(c *nftables.Conn) error { return c.AddSet(set6, nil) })
	hooks := []struct {
		name string
		hook *nftables.ChainHook
	}{{InputName, nftables.ChainHookInput}}
	if e.opts.Forward {
		hooks = append(hooks, struct {
			name string
			hook *nftables.ChainHook
		}{FwdName, nftables.ChainHookForward})
	} else if st.hasForward {
		b.add(64, func(c *nftables.Conn) error {
			c.DelChain(&nftables.Chain{Table: e.table, Name: FwdName})
			return nil
		})
	}
	policy := nftables.ChainPolicyAccept
	for _, h := range hooks {
		ch := &nftables.Chain{
			Name: h.name, Table: e.table, Type: nftables.ChainTypeFilter,
			Hooknum: h.hook, Priority: nftables.ChainPriorityRef(Priority), Policy: &policy,
		}
		b.add(128, func(c *nftables.Conn) error {
			c.AddChain(ch)
			c.FlushChain(ch)
			return nil
		})
		for _, r := range e.rules(ch, set4, set6) {
			b.add(512, func(c *nftables.Conn) error { c.AddRule(r); return nil })
		}
	}
}

// signature marks our rules with the options they were built from, so a
// change of options (or a hand edit) is noticed and the rules rewritten.
func (e *Enforcer) signature() string {
	s := "rampart " + e.opts.Action.String()
	if e.opts.LogRate > 0 {
		s += fmt.Sprintf(" log %d/minute", e.opts.LogRate)
	}
	return s
}

func (e *Enforcer) rules(ch *nftables.Chain, set4, set6 *nftables.Set) []*nftables.Rule {
	ud := userdata.AppendString(nil, userdata.TypeComment, e.signature())
	var out []*nftables.Rule
	for _, f := range []struct {
		proto       byte
		offset, len uint32
		set         *nftables.Set
	}{
		{unix.NFPROTO_IPV4, 12, 4, set4},
		{unix.NFPROTO_IPV6, 8, 16, set6},
	} {
		// meta nfproto X + ip(6) saddr @set: nft(8) prints this as
		// "ip saddr @blocklist4".
		match := []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{f.proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: f.offset, Len: f.len},
			&expr.Lookup{SourceRegister: 1, SetName: f.set.Name, SetID: f.set.ID},
		}
		if e.opts.LogRate > 0 {
			// A rule of its own: a limit in the drop rule would let the
			// packets over the rate through.
			out = append(out, &nftables.Rule{Table: e.table, Chain: ch, UserData: ud, Exprs: append(slices.Clone(match),
				&expr.Limit{Type: expr.LimitTypePkts, Rate: uint64(e.opts.LogRate), Unit: expr.LimitTimeMinute, Burst: 5},
				&expr.Log{Key: 1 << unix.NFTA_LOG_PREFIX, Data: []byte(e.opts.LogPrefix)},
			)})
		}
		var verdict expr.Any = &expr.Verdict{Kind: expr.VerdictDrop}
		if e.opts.Action == enforce.Reject {
			verdict = &expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_ADMIN_PROHIBITED}
		}
		out = append(out, &nftables.Rule{Table: e.table, Chain: ch, UserData: ud, Exprs: append(match, verdict)})
	}
	return out
}

// conn opens a connection whose socket buffers fit the batch. The whole
// batch goes out in one sendmsg, which the kernel refuses (EMSGSIZE) beyond
// the send buffer, and every message is acknowledged after the commit, which
// overflows the default receive buffer (ENOBUFS) for big sets. The FORCE
// options need CAP_NET_ADMIN, which writing nftables needs anyway.
func (e *Enforcer) conn(bytes, msgs int) (*nftables.Conn, error) {
	snd := bytes + 1<<20
	rcv := msgs*2048 + 1<<20
	opts := []nftables.ConnOption{nftables.WithSockOptions(func(c *netlink.Conn) error {
		raw, err := c.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		err = raw.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, snd); serr != nil {
				return
			}
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcv)
		})
		if err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("size netlink socket buffers: %w", serr)
		}
		return nil
	})}
	if e.opts.NetNS != 0 {
		opts = append(opts, nftables.WithNetNSFd(e.opts.NetNS))
	}
	return nftables.New(opts...)
}

func (e *Enforcer) readConn() (*nftables.Conn, error) {
	opts := []nftables.ConnOption{nftables.AsLasting()}
	if e.opts.NetNS != 0 {
		opts = append(opts, nftables.WithNetNSFd(e.opts.NetNS))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", explain(err))
	}
	return c, nil
}

// live is the state with the intervals that have expired by now left out:
// the kernel drops them on its own, without a new generation.
func (st *state) live(now time.Time) state {
	out := *st
	expired := func(iv interval) bool { return !iv.expires.IsZero() && !iv.expires.After(now) }
	if !slices.ContainsFunc(st.v4, expired) && !slices.ContainsFunc(st.v6, expired) {
		return out
	}
	keep := func(ivs []interval) []interval {
		return slices.DeleteFunc(slices.Clone(ivs), func(iv interval) bool {
			return !iv.expires.IsZero() && !iv.expires.After(now)
		})
	}
	out.v4, out.v6 = keep(st.v4), keep(st.v6)
	return out
}

// read loads our table's sets, chains and rules from the kernel, and the
// generation they belong to: a read that straddles someone else's commit
// is repeated, so the state is one the kernel really held.
func (e *Enforcer) read(raw *rawConn, now time.Time) (state, uint32, error) {
	for attempt := 0; ; attempt++ {
		before, err := raw.gen()
		if err != nil {
			return state{}, 0, err
		}
		st, err := e.readOnce(raw, now)
		after, gerr := raw.gen()
		if gerr != nil {
			return state{}, 0, gerr
		}
		// A dump that spans a commit can mix generations, and then fail
		// to decode: that is a reason to read again, not an error.
		if before == after && err == nil {
			return st, after, nil
		}
		if attempt == 4 {
			if err == nil {
				err = fmt.Errorf("the ruleset kept changing during 5 reads (generation %d to %d)", before, after)
			}
			return state{}, 0, err
		}
	}
}

func (e *Enforcer) readOnce(raw *rawConn, now time.Time) (state, error) {
	var st state
	c, err := e.readConn()
	if err != nil {
		return st, err
	}
	defer c.CloseLasting()
	if _, err := c.ListTableOfFamily(TableName, nftables.TableFamilyINet); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return st, nil
		}
		return st, fmt.Errorf("read table inet %s: %w", TableName, explain(err))
	}
	st.exists = true
	sets, err := c.GetSets(e.table)
	if err != nil {
		return st, fmt.Errorf("read sets of table inet %s: %w", TableName, explain(err))
	}
	found := 0
	for _, s := range sets {
		var dst *[]interval
		switch s.Name {
		case Set4Name:
			dst = &st.v4
		case Set6Name:
			dst = &st.v6
		default:
			continue
		}
		found++
		elems, err := raw.elements(TableName, s.Name)
		if err != nil {
			return st, err
		}
		ivs, err := decodeIntervals(elems, s.Name == Set4Name, now)
		if err != nil {
			return st, fmt.Errorf("read set %s: %w", s.Name, err)
		}
		*dst = ivs
	}
	st.setsOK = found == 2
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return st, fmt.Errorf("read chains of table inet %s: %w", TableName, explain(err))
	}
	want := map[string]bool{InputName: true, FwdName: e.opts.Forward}
	st.rulesOK = true
	haveInput := false
	for _, ch := range chains {
		if ch.Table == nil || ch.Table.Name != TableName {
			continue
		}
		switch ch.Name {
		case InputName:
			haveInput = true
		case FwdName:
			st.hasForward = true
		}
		if !want[ch.Name] {
			st.rulesOK = false
			continue
		}
		ok, err := e.rulesMatch(c, ch)
		if err != nil {
			return st, err
		}
		st.rulesOK = st.rulesOK && ok
	}
	if !haveInput || st.hasForward != e.opts.Forward {
		st.rulesOK = false
	}
	return st, nil
}

// rulesMatch reports whether a chain holds exactly the rules the current
// options produce, judged by their count and signature comment.
func (e *Enforcer) rulesMatch(c *nftables.Conn, ch *nftables.Chain) (bool, error) {
	rules, err := c.GetRules(e.table, ch)
	if err != nil {
		return false, fmt.Errorf("read rules of chain %s: %w", ch.Name, explain(err))
	}
	want := 2
	if e.opts.LogRate > 0 {
		want = 4
	}
	if len(rules) != want {
		return false, nil
	}
	sig := e.signature()
	for _, r := range rules {
		if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); s != sig {
			return false, nil
		}
	}
	return true, nil
}

// Status reads the sets back from the kernel: sorted, disjoint entries
// with their expiries. No table means nothing is blocked.
func (e *Enforcer) Status(ctx context.Context) ([]enforce.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw, err := dialRaw(e.opts.NetNS)
	if err != nil {
		return nil, fmt.Errorf("nft: status: %w", err)
	}
	defer raw.Close()
	st, _, err := e.read(raw, e.opts.Now())
	if err != nil {
		return nil, fmt.Errorf("nft: status: %w", err)
	}
	var out []enforce.Entry
	for _, iv := range slices.Concat(st.v4, st.v6) {
		out = append(out, iv.entries()...)
	}
	slices.SortFunc(out, func(a, b enforce.Entry) int { return enforce.ComparePrefix(a.Prefix, b.Prefix) })
	return out, nil
}

// Remove deletes the table with its sets, chains and rules. A missing
// table is not an error.
func (e *Enforcer) Remove(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cache = nil
	c, err := e.conn(0, 1)
	if err != nil {
		return fmt.Errorf("nft: remove: %w", err)
	}
	c.DelTable(e.table)
	if err := c.Flush(); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("nft: remove table inet %s: %w", TableName, explain(err))
	}
	e.log.Info("removed", "table", "inet "+TableName)
	return nil
}

// desired validates the entries and turns them into intervals per family.
func desired(set []enforce.Entry, now time.Time) (v4, v6 []interval, err error) {
	v4 = make([]interval, 0, len(set))
	for i, en := range set {
		p := en.Prefix
		if !p.IsValid() {
			return nil, nil, fmt.Errorf("entry %d: invalid prefix %q", i, p)
		}
		if p.Addr().Is4In6() {
			return nil, nil, fmt.Errorf("entry %d: prefix %q is IPv4-mapped (normalise it first)", i, p)
		}
		if p != p.Masked() {
			return nil, nil, fmt.Errorf("entry %d: prefix %q has host bits set (want %q)", i, p, p.Masked())
		}
		if p.Addr().Zone() != "" {
			return nil, nil, fmt.Errorf("entry %d: prefix %q has a zone", i, p)
		}
		if !en.Expires.IsZero() && !en.Expires.After(now) {
			continue
		}
		iv := intervalOf(en)
		if p.Addr().Is4() {
			v4 = append(v4, iv)
		} else {
			v6 = append(v6, iv)
		}
	}
	for _, ivs := range [][]interval{v4, v6} {
		byStart := func(a, b interval) int { return a.start.Compare(b.start) }
		if !slices.IsSortedFunc(ivs, byStart) {
			slices.SortFunc(ivs, byStart)
		}
		for i := 1; i < len(ivs); i++ {
			if prev := ivs[i-1]; !prev.next.IsValid() || prev.next.Compare(ivs[i].start) > 0 {
				return nil, nil, fmt.Errorf("prefixes %q and %q overlap (normalise the set first)",
					netipx.IPRangeFrom(prev.start, prev.last()).String(), netipx.IPRangeFrom(ivs[i].start, ivs[i].last()).String())
			}
		}
	}
	return v4, v6, nil
}

// diff splits desired and applied intervals, each sorted by start and
// disjoint, into what to add, what to delete, and how many stay. A merge
// walk: maps over 100,000 intervals cost more than the kernel's commit.
func diff(want, have []interval) (add, del []interval, kept int) {
	i, j := 0, 0
	for i < len(want) && j < len(have) {
		w, h := want[i], have[j]
		switch c := w.start.Compare(h.start); {
		case c < 0:
			add = append(add, w)
			i++
		case c > 0:
			del = append(del, h)
			j++
		default:
			if w.key() == h.key() {
				kept++
			} else {
				add = append(add, w)
				del = append(del, h)
			}
			i++
			j++
		}
	}
	add = append(add, want[i:]...)
	del = append(del, have[j:]...)
	return add, del, kept
}

// explain names the missing piece behind the errors a host without
// nftables, or a caller without privilege, gets.
func explain(err error) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("%w (nftables needs CAP_NET_ADMIN in the target network namespace: run as root)", err)
	case errors.Is(err, unix.EPROTONOSUPPORT):
		return fmt.Errorf("%w (the kernel has no nfnetlink: CONFIG_NETFILTER_NETLINK)", err)
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EAFNOSUPPORT):
		return fmt.Errorf("%w (the kernel has no nf_tables support: load the nf_tables module, CONFIG_NF_TABLES, CONFIG_NF_TABLES_INET)", err)
	}
	return err
}
