package cadencecmd

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/analytics/cadence"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ingest"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

// hitSource is a back end that hands over every source's alert times
// itself (the store, from its rollups).
type hitSource interface {
	SourceHits(ctx context.Context, f analytics.Filter, fn func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error) error
}

// oneSource is a back end that reads one source's alert times without a
// full scan (the store).
type oneSource interface {
	SourceHitsOf(ctx context.Context, addr netip.Addr, f analytics.Filter) ([]cadence.Rule, []cadence.Hit, error)
}

// EachSource calls fn for every source of the input with alerts f selects:
// from the store's rollups, or by reading every alert of the files or the
// database.
func EachSource(ctx context.Context, b cmdutil.Backend, f analytics.Filter, fn func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error) error {
	if hs, ok := b.(hitSource); ok {
		return hs.SourceHits(ctx, f, fn)
	}
	c := cadence.NewCollector()
	handled, err := EachAlert(ctx, b, func(a *ossec.Alert) {
		if f.Match(a) {
			c.Add(a.SrcIP, a.Time.Unix(), RuleOf(a))
		}
	})
	if err != nil {
		return err
	}
	if !handled {
		return fmt.Errorf("cadence: input %T cannot list alert times", b)
	}
	return c.Each(fn)
}

// SourceHitsOf returns addr's alerts that f selects when the back end can
// read them without a scan of every alert; ok is false otherwise.
func SourceHitsOf(ctx context.Context, b cmdutil.Backend, addr netip.Addr, f analytics.Filter) (rules []cadence.Rule, hits []cadence.Hit, ok bool, err error) {
	one, ok := b.(oneSource)
	if !ok {
		return nil, nil, false, nil
	}
	rules, hits, err = one.SourceHitsOf(ctx, addr, f)
	return rules, hits, true, err
}

// RuleOf is an alert's rule as cadence needs it. An agent's location is
// "(name) ip->path"; the manager's own logs and agentless checks are not.
func RuleOf(a *ossec.Alert) cadence.Rule {
	return cadence.Rule{ID: a.RuleID, Level: a.Level, Groups: a.Groups, FromAgent: strings.HasPrefix(a.Location.Raw, "(")}
}

// EachAlert streams every alert of an input that is read alert by alert
// (alert files, the ossec-dbd database) to fn; handled is false for the
// store. For files it counts what it reads into Files.Read
// (ingest.Files.Each), so that cmdutil.Input.Report tells of malformed
// alerts.
func EachAlert(ctx context.Context, b cmdutil.Backend, fn func(*ossec.Alert)) (handled bool, err error) {
	switch in := b.(type) {
	case *ingest.Files:
		return true, in.Each(ctx, fn)
	case *ossecdb.DB:
		rows := in.Alerts(ctx, nil)
		defer rows.Close()
		for rows.Next() {
			fn(rows.Alert())
		}
		return true, rows.Err()
	}
	return false, nil
}
