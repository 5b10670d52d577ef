// Package lookup answers "who handles abuse for this address": RDAP first,
// whois when RDAP fails or names no abuse mailbox (the two answers merged),
// and the answer cached in the store for the whole network it covers, so
// later lookups of any address in that network need no query.
//
// It neither speaks a registry protocol nor parses answers (packages rdap
// and whois do, behind the Source interface), and it decides nothing about
// reporting. It keeps no package-level state.
package lookup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"go4.org/netipx"

	"github.com/rampart-ids/rampart/internal/abuse"
	"github.com/rampart-ids/rampart/internal/alertdb"
)

// Defaults of Options.
const (
	// DefaultTTL is how long an answer that names an abuse mailbox is
	// reused: registries' contacts change rarely.
	DefaultTTL = 7 * 24 * time.Hour
	// DefaultNegativeTTL is how long an answer without one is reused, for
	// its own address only.
	DefaultNegativeTTL = 24 * time.Hour
	// DefaultFailureTTL is how long a failed lookup is remembered.
	DefaultFailureTTL = 10 * time.Minute
)

// Source finds the abuse contact of an address in one way (RDAP, whois).
type Source interface {
	Lookup(ctx context.Context, addr netip.Addr) (abuse.Contact, error)
}

// Cache keeps answers by the address range they cover (*alertdb.Store).
type Cache interface {
	AbuseContact(ctx context.Context, addr netip.Addr, now time.Time) (alertdb.AbuseContactEntry, bool, error)
	PutAbuseContact(ctx context.Context, c abuse.Contact, covers []netip.Prefix, expires time.Time) error
	PruneAbuseContacts(ctx context.Context, now time.Time) (int64, error)
}

// Options configure a Resolver.
type Options struct {
	// RDAP is asked first, Whois when RDAP fails or names no abuse
	// mailbox. Either may be nil, not both.
	RDAP, Whois Source
	// Cache keeps the answers; nil caches nothing.
	Cache Cache
	// TTL and NegativeTTL are how long answers with and without an abuse
	// mailbox are reused (DefaultTTL, DefaultNegativeTTL when zero).
	TTL, NegativeTTL time.Duration
	// FailureTTL is how long a lookup that no source answered is
	// remembered for the addresses around it (the /24 or /48), so that a
	// batch does not wait for the same unreachable server again and
	// again (DefaultFailureTTL when zero).
	FailureTTL time.Duration
	// Refresh asks the sources even when the cache has an answer, and
	// caches the new one.
	Refresh bool
	Now     func() time.Time
	Logger  *slog.Logger
}

// Resolver looks up abuse contacts. It is safe for concurrent use when its
// sources and cache are.
type Resolver struct {
	rdap, whois Source
	cache       Cache
	ttl, negTTL time.Duration
	refresh     bool
	now         func() time.Time
	logger      *slog.Logger
	prune       sync.Once
	failTTL     time.Duration

	mu       sync.Mutex
	failures map[netip.Prefix]failure
}

// failure is a lookup no source answered.
type failure struct {
	err   error
	until time.Time
}

// around is the network a failure is remembered for: registries delegate
// no smaller blocks than these.
func around(a netip.Addr) netip.Prefix {
	if a.Is4() {
		return netip.PrefixFrom(a, 24).Masked()
	}
	return netip.PrefixFrom(a, 48).Masked()
}

// New returns a resolver for o.
func New(o Options) (*Resolver, error) {
	if o.RDAP == nil && o.Whois == nil {
		return nil, errors.New("abuse lookup: neither RDAP nor whois configured")
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = DefaultNegativeTTL
	}
	if o.FailureTTL <= 0 {
		o.FailureTTL = DefaultFailureTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Resolver{
		rdap: o.RDAP, whois: o.Whois, cache: o.Cache,
		ttl: o.TTL, negTTL: o.NegativeTTL, refresh: o.Refresh,
		now: o.Now, logger: o.Logger.With("component", "abuse_lookup"),
		failTTL: o.FailureTTL, failures: map[netip.Prefix]failure{},
	}, nil
}

// Result is an answer with how it was obtained.
type Result struct {
	abuse.Contact
	// Cached is true when the answer came from the cache.
	Cached bool
	// Expires is when the cached answer stops being reused; zero when it
	// was not cached.
	Expires time.Time
	// Notes say what failed on the way to the answer (a source's error, a
	// cache error), for the operator.
	Notes []string
}

// Lookup returns the abuse contact of addr (see Resolve).
func (r *Resolver) Lookup(ctx context.Context, addr netip.Addr) (abuse.Contact, error) {
	res, err := r.Resolve(ctx, addr)
	return res.Contact, err
}

// Resolve returns the abuse contact of addr: from the cache when an
// unexpired answer covers addr, else from RDAP, and from whois when RDAP
// fails or names no abuse mailbox. An answer without a mailbox is not an
// error (Found is false); an error means no source answered.
func (r *Resolver) Resolve(ctx context.Context, addr netip.Addr) (Result, error) {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return Result{}, errors.New("abuse lookup: invalid address")
	}
	now := r.now()
	var notes []string
	if r.cache != nil && !r.refresh {
		e, found, err := r.cache.AbuseContact(ctx, addr, now)
		switch {
		case err != nil:
			// The cache only saves queries: ask the registries.
			r.logger.Warn("abuse contact cache", "addr", addr, "error", err)
			notes = append(notes, "cache: "+err.Error())
		case found:
			c := e.Contact
			c.Addr = addr
			return Result{Contact: c, Cached: true, Expires: e.Expires}, nil
		}
	}
	r.mu.Lock()
	f, failed := r.failures[around(addr)]
	r.mu.Unlock()
	if failed && now.Before(f.until) {
		return Result{Contact: abuse.Contact{Addr: addr}, Notes: notes},
			fmt.Errorf("%w (remembered for %s until %s: not asking again)", f.err, around(addr), f.until.UTC().Format(time.RFC3339))
	}
	c, clean, srcNotes, err := r.ask(ctx, addr)
	notes = append(notes, srcNotes...)
	if err != nil {
		if ctx.Err() == nil {
			r.mu.Lock()
			r.failures[around(addr)] = failure{err: err, until: now.Add(r.failTTL)}
			r.mu.Unlock()
		}
		return Result{Contact: abuse.Contact{Addr: addr}, Notes: notes}, err
	}
	res := Result{Contact: c, Notes: notes}
	// An answer without a mailbox is cached only when no source failed:
	// a rate limit must not hide a contact for a day.
	if r.cache != nil && (c.Found() || clean) {
		// The store keeps seconds; a fresh answer shows what a cached one will.
		covers, expires := []netip.Prefix(nil), now.Add(r.negTTL).Truncate(time.Second)
		if c.Found() {
			covers, expires = coverage(c.Range, addr), now.Add(r.ttl).Truncate(time.Second)
		}
		r.prune.Do(func() {
			if _, err := r.cache.PruneAbuseContacts(ctx, now); err != nil {
				r.logger.Warn("prune abuse contact cache", "error", err)
			}
		})
		if err := r.cache.PutAbuseContact(ctx, c, covers, expires); err != nil {
			r.logger.Warn("abuse contact cache", "addr", addr, "error", err)
			res.Notes = append(res.Notes, "cache: "+err.Error())
		} else {
			res.Expires = expires
		}
	}
	return res, nil
}

// ask asks the sources. clean is false when a source failed on the way to
// the answer.
//
// When RDAP names no mailbox and whois does, the answer is whois's (the
// mailbox and the names of the network it belongs to, often the parent of
// RDAP's), with the fields whois lacks from RDAP, for the addresses both
// answers cover: typically RDAP's more specific network.
func (r *Resolver) ask(ctx context.Context, addr netip.Addr) (c abuse.Contact, clean bool, notes []string, err error) {
	var rc abuse.Contact
	var rerr error
	if r.rdap != nil {
		rc, rerr = r.rdap.Lookup(ctx, addr)
		if rerr == nil && rc.Found() {
			return rc, true, nil, nil
		}
	}
	if r.whois == nil {
		return rc, rerr == nil, nil, rerr
	}
	if err := ctx.Err(); err != nil {
		if rerr != nil {
			return abuse.Contact{}, false, nil, fmt.Errorf("%w; %w", rerr, err)
		}
		return abuse.Contact{}, false, nil, err
	}
	wc, werr := r.whois.Lookup(ctx, addr)
	switch {
	case werr != nil && r.rdap == nil:
		return abuse.Contact{}, false, nil, werr
	case werr != nil && rerr != nil:
		// One line: the CLI prefixes it with the address.
		return abuse.Contact{}, false, nil, fmt.Errorf("%w; %w", rerr, werr)
	case werr != nil:
		return rc, false, []string{fmt.Sprintf("%s names no abuse mailbox; whois failed: %v", rc.Server, werr)}, nil
	case rerr != nil:
		return wc, false, []string{rerr.Error()}, nil
	case r.rdap == nil:
		return wc, true, nil, nil
	case !wc.Found():
		return fill(rc, wc), true, nil, nil
	default:
		m := fill(wc, rc)
		m.Range = intersect(rc.Range, wc.Range, addr)
		return m, true, []string{fmt.Sprintf("%s names no abuse mailbox; the mailbox comes from whois %s", rc.Server, wc.Server)}, nil
	}
}

// fill returns c with its empty descriptive fields taken from o.
func fill(c, o abuse.Contact) abuse.Contact {
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&c.NetName, o.NetName}, {&c.Org, o.Org}, {&c.Country, o.Country}, {&c.Registry, o.Registry},
	} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
	if len(c.Range) == 0 {
		c.Range = o.Range
	}
	return c
}

// intersect returns the addresses both answers cover (a whois mailbox
// found for a wider or narrower network than RDAP's holds for the overlap
// only); nil when that does not contain addr.
func intersect(a, b []netip.Prefix, addr netip.Addr) []netip.Prefix {
	switch {
	case len(a) == 0:
		return coverage(b, addr)
	case len(b) == 0:
		return coverage(a, addr)
	}
	var sa, sb netipx.IPSetBuilder
	for _, p := range a {
		sa.AddPrefix(p)
	}
	for _, p := range b {
		sb.AddPrefix(p)
	}
	setB, err := sb.IPSet()
	if err != nil {
		return nil
	}
	sa.Intersect(setB)
	set, err := sa.IPSet()
	if err != nil || !set.Contains(addr) {
		return nil
	}
	return set.Prefixes()
}

// coverage returns rng when it contains addr, else nil (the answer then
// covers addr alone).
func coverage(rng []netip.Prefix, addr netip.Addr) []netip.Prefix {
	for _, p := range rng {
		if p.Contains(addr) {
			return rng
		}
	}
	return nil
}
