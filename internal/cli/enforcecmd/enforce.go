// Package enforcecmd is "rampart enforce": converge the host's
// countermeasures (nftables, hosts.deny, ...) to a block list taken from a
// file or from the top sources, show drift, remove everything Rampart owns,
// and check which services hosts.deny can protect at all.
package enforcecmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/enforce/guard"
	"github.com/rampart-ids/rampart/internal/ipclass"
)

// BackendFlags select and locate back ends.
type BackendFlags struct {
	Backends      []string
	HostsDeny     string
	HostsDenyList string
	HostsDenyForm string
	NginxConf     string
	NginxForm     string
	Action        string
	LogRate       uint32
	Forward       bool
}

// action parses --action for the firewall back ends.
func (b *BackendFlags) action() (enforce.Action, error) {
	switch b.Action {
	case "drop":
		return enforce.Drop, nil
	case "reject":
		return enforce.Reject, nil
	}
	return 0, cmdutil.FlagError("action", b.Action, errors.New("want drop or reject"))
}

func (b *BackendFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&b.Backends, "backend", []string{"nft"}, "countermeasure `NAME`: "+strings.Join(backendNames(), ", ")+"; repeatable")
	cmd.Flags().StringVar(&b.HostsDeny, "hosts-deny", "/etc/hosts.deny", "hosts.deny `PATH` (backend hostsdeny)")
	cmd.Flags().StringVar(&b.HostsDenyList, "hosts-deny-list", "/etc/rampart/hosts.deny.list", "where the list hosts.deny names lives: the file `PATH` (form single) or the directory PATH.d (form sharded) (backend hostsdeny)")
	cmd.Flags().StringVar(&b.HostsDenyForm, "hosts-deny-form", "sharded", "hosts.deny `FORM`: sharded (a fixed block of one line per first IPv4 octet; fast) or single (one include line) (backend hostsdeny)")
	cmd.Flags().StringVar(&b.NginxConf, "nginx-conf", "", "nginx configuration `PATH` to test and reload (backend nginx; default: nginx's own)")
	cmd.Flags().StringVar(&b.NginxForm, "nginx-form", "deny", "nginx include `FORM`: deny, geo or auto (geo above 1,000 entries) (backend nginx)")
	cmd.Flags().StringVar(&b.Action, "action", "drop", "what nft and ipset do with blocked packets: drop or reject")
	cmd.Flags().Uint32Var(&b.LogRate, "log-rate", 0, "log blocked packets at up to `N` per minute, prefix \"rampart: \" (nft; 0: off)")
	cmd.Flags().BoolVar(&b.Forward, "forward", false, "block forwarded traffic too, not only traffic to this host (nft)")
}

func (b *BackendFlags) open() ([]enforce.Enforcer, error) {
	var out []enforce.Enforcer
	table := backends()
	seen := map[string]bool{}
	for _, name := range b.Backends {
		if seen[name] {
			continue
		}
		seen[name] = true
		mk, ok := table[name]
		if !ok {
			return nil, cmdutil.FlagError("backend", name, fmt.Errorf("want one of %s", strings.Join(backendNames(), ", ")))
		}
		e, err := mk(*b)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// New returns the enforce command.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "enforce",
		Short: "Apply block lists to nftables, hosts.deny and other countermeasures",
	}
	cmd.AddCommand(newApply(f), newStatus(f), newRemove(f), newCheck(f))
	return cmd
}

// ApplyOptions are "enforce apply"'s flags.
type ApplyOptions struct {
	Backend     BackendFlags
	From        string
	FromTop     bool
	Query       cmdutil.QueryFlags
	Min         int64
	Limit       int
	For         string
	DryRun      bool
	SkipInvalid bool
	MaxChange   float64
	Force       bool
	IPv6Bits    int
}

func newApply(f *cmdutil.Factory) *cobra.Command {
	opts := &ApplyOptions{}
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Make the countermeasures block exactly a list of addresses and prefixes",
		Long: `Make each back end block exactly the given list, in one atomic step per back end.

The list comes from a file (--from FILE, or - for stdin: one address or CIDR
prefix per line, # comments allowed) or from the top sources (--from-top with
top's flags, e.g. --min 1000 --since 30d). Local networks and the allowlist are
never blocked; IPv6 addresses are widened to --ipv6-prefix. Two guards refuse
an apply unless --force: the lockout guard (entries covering current SSH
clients, default gateways, DNS resolvers or management_networks of the
config) and the max-change guard (an update adding or removing more than
--max-change of the applied list). --dry-run prints what would change.`,
		Example: `  rampart enforce apply --backend nft --from blocklist.txt
  rampart enforce apply --backend nft --backend hostsdeny --from-top --min 1000 --since 30d --for 24h
  rampart enforce apply --backend hostsdeny --from - --dry-run < list.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runApply(cmd.Context(), f, cmd, opts) },
	}
	opts.Backend.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&opts.From, "from", "", "read the list from `FILE` (- for stdin)")
	fl.BoolVar(&opts.FromTop, "from-top", false, "block the top sources selected by top's flags")
	opts.Query.Register(fl)
	fl.Int64Var(&opts.Min, "min", 0, "with --from-top: sources with at least `N` alerts")
	fl.IntVar(&opts.Limit, "limit", 0, "with --from-top: at most `N` sources")
	fl.StringVar(&opts.For, "for", "", "entries expire after `DURATION` (e.g. 1h, 7d; default: never)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the changes, apply nothing")
	fl.BoolVar(&opts.SkipInvalid, "skip-invalid", false, "apply the valid lines of a list that has invalid ones")
	fl.Float64Var(&opts.MaxChange, "max-change", 0.5, "refuse updates adding or removing more than this `SHARE` of the applied list")
	fl.BoolVar(&opts.Force, "force", false, "apply despite the lockout and max-change guards (each conflict is printed)")
	fl.IntVar(&opts.IPv6Bits, "ipv6-prefix", 64, "widen IPv6 addresses to this prefix length `BITS` (128: keep)")
	return cmd
}

func runApply(ctx context.Context, f *cmdutil.Factory, cmd *cobra.Command, opts *ApplyOptions) error {
	if (opts.From == "") == !opts.FromTop {
		return &cmdutil.UsageError{Err: errors.New("give exactly one of --from FILE and --from-top")}
	}
	if !opts.FromTop {
		for _, name := range []string{"alerts", "db", "since", "until", "level", "rule", "scope", "min", "limit"} {
			if cmd.Flags().Changed(name) {
				return &cmdutil.UsageError{Err: fmt.Errorf("--%s goes with --from-top", name)}
			}
		}
	}
	now := f.Now()
	exp, err := entryFlags(opts.IPv6Bits, opts.For, now)
	if err != nil {
		return err
	}
	never, err := neverBlock(f, &opts.Query, cmd)
	if err != nil {
		return err
	}
	var entries []enforce.Entry
	if opts.FromTop {
		if entries, err = fromTop(ctx, f, cmd, opts, exp); err != nil {
			return err
		}
	} else if entries, err = fromFile(f, opts, exp); err != nil {
		return err
	}
	bes, err := opts.Backend.open()
	if err != nil {
		return err
	}
	// The list is kept per back end as given (local networks and the
	// allowlist cut out); manual bans and unbans are added at convergence.
	list := enforce.Normalize(entries, enforce.NormalizeOptions{Now: now, IPv6Bits: opts.IPv6Bits, Never: never})
	c := &converger{f: f, never: never, ipv6Bits: opts.IPv6Bits, force: opts.Force, dryRun: opts.DryRun, maxChange: opts.MaxChange}
	return c.run(ctx, bes, func(string) ([]enforce.Entry, error) { return list, nil }, true)
}

// converger brings back ends to their list plus the manual bans, minus the
// unbans, the local networks and the allowlist, behind the lockout and
// max-change guards. apply, ban and unban all go through it, so none of them
// undoes what another decided.
type converger struct {
	f         *cmdutil.Factory
	never     []netip.Prefix
	ipv6Bits  int
	force     bool
	dryRun    bool
	maxChange float64 // 0: no max-change guard (a ban or unban is one deliberate change)
}

func (c *converger) run(ctx context.Context, bes []enforce.Enforcer, list func(backend string) ([]enforce.Entry, error), saveList bool) error {
	f := c.f
	now := f.Now()
	manual, err := loadManual(f)
	if err != nil {
		return err
	}
	never := append(append([]netip.Prefix(nil), c.never...), manual.unbanned()...)
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	// The lockout guard: refuse to block SSH peers, gateways, resolvers and
	// management networks unless --force; a dry run only shows them.
	protected, err := guard.Protect(ctx, guard.Options{Management: cfg.ManagementNetworks})
	if err != nil && !c.force {
		return fmt.Errorf("lockout guard: %w (--force overrides)", err)
	} else if err != nil {
		fmt.Fprintf(f.Err, "warning: lockout guard overridden by --force: %v\n", err)
	}
	for _, be := range bes {
		base, err := list(be.Name())
		if err != nil {
			return err
		}
		set := enforce.Normalize(append(append([]enforce.Entry(nil), base...), manual.banned()...),
			enforce.NormalizeOptions{Now: now, IPv6Bits: c.ipv6Bits, Never: never})
		vs := guard.Violations(set, protected)
		if len(vs) > 0 && !c.force && !c.dryRun {
			return &guard.LockoutError{Violations: vs}
		}
		note := "overridden by --force"
		if !c.force {
			note = "refused without --force"
		}
		for _, v := range vs {
			fmt.Fprintf(f.Err, "warning: lockout guard, %s: %s\n", note, v)
		}
		applied, err := be.Status(ctx)
		if err != nil {
			return fmt.Errorf("%s: read current state: %w", be.Name(), err)
		}
		add, remove, kept := enforce.Diff(set, applied)
		if c.dryRun {
			fmt.Fprintf(f.Out, "%s: would add %d, remove %d, keep %d\n", be.Name(), len(add), len(remove), kept)
			for _, e := range add {
				fmt.Fprintf(f.Out, "+ %s\n", formatEntry(e))
			}
			for _, e := range remove {
				fmt.Fprintf(f.Out, "- %s\n", formatEntry(e))
			}
			continue
		}
		if !c.force {
			if err := enforce.CheckChange(len(add), len(remove), len(applied), c.maxChange); err != nil {
				return fmt.Errorf("%s: %w", be.Name(), err)
			}
		}
		res, err := be.Apply(ctx, set)
		if err != nil {
			return fmt.Errorf("%s: apply failed, the previous state is still in place: %w", be.Name(), err)
		}
		if saveList {
			if err := saveDesired(f, be.Name(), base); err != nil {
				return err
			}
		}
		fmt.Fprintf(f.Err, "%s: %d entries: %d added, %d removed, %d kept in %s\n",
			be.Name(), len(set), res.Added, res.Removed, res.Kept, res.Duration.Round(time.Microsecond))
	}
	return nil
}

// neverBlock returns the networks no list may block: the local networks
// (--local-nets or the config) and the config's allowlist.
func neverBlock(f *cmdutil.Factory, q *cmdutil.QueryFlags, cmd *cobra.Command) ([]netip.Prefix, error) {
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	nets := c.LocalNetworks
	if cmd.Flags().Changed("local-nets") {
		if nets, err = ipclass.ParseList(q.LocalNets); err != nil {
			return nil, cmdutil.FlagError("local-nets", q.LocalNets, err)
		}
	}
	return unionNets(nets, c.Allowlist), nil
}

// unionNets joins the lists of networks no entry may cover.
func unionNets(lists ...[]netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// entryFlags checks --ipv6-prefix and turns --for into an expiry (zero:
// none), for apply, ban and unban alike.
func entryFlags(ipv6Bits int, forFlag string, now time.Time) (time.Time, error) {
	if ipv6Bits < 1 || ipv6Bits > 128 {
		return time.Time{}, cmdutil.FlagError("ipv6-prefix", fmt.Sprint(ipv6Bits), errors.New("want 1 to 128"))
	}
	if forFlag == "" {
		return time.Time{}, nil
	}
	d, err := cmdutil.ParseDuration(forFlag)
	if err != nil {
		return time.Time{}, cmdutil.FlagError("for", forFlag, err)
	}
	return now.Add(d), nil
}

func fromFile(f *cmdutil.Factory, opts *ApplyOptions, exp time.Time) ([]enforce.Entry, error) {
	var r io.Reader = f.In
	name := "stdin"
	if opts.From != "-" {
		file, err := os.Open(opts.From)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		r, name = file, opts.From
	}
	entries, bad, err := enforce.ReadList(r, name, exp)
	if err != nil {
		return nil, err
	}
	for i, b := range bad {
		if i == 10 {
			fmt.Fprintf(f.Err, "... and %d more invalid lines\n", len(bad)-10)
			break
		}
		fmt.Fprintln(f.Err, b)
	}
	if len(bad) > 0 && !opts.SkipInvalid {
		return nil, fmt.Errorf("%s has %d invalid lines: nothing applied (--skip-invalid applies the valid ones)", name, len(bad))
	}
	return entries, nil
}

func fromTop(ctx context.Context, f *cmdutil.Factory, cmd *cobra.Command, opts *ApplyOptions, exp time.Time) ([]enforce.Entry, error) {
	filter, err := opts.Query.Filter(f, cmd.Flags())
	if err != nil {
		return nil, err
	}
	inScope, err := opts.Query.InScope(f)
	if err != nil {
		return nil, err
	}
	in, err := cmdutil.OpenInput(ctx, f, &opts.Query)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	sources, err := in.Backend.TopSources(ctx, filter)
	if err != nil {
		return nil, err
	}
	in.Report()
	sources = analytics.Finish(sources, analytics.Selection{InScope: inScope, Min: opts.Min, Limit: opts.Limit})
	entries := make([]enforce.Entry, len(sources))
	for i, s := range sources {
		entries[i] = enforce.Entry{Prefix: netip.PrefixFrom(s.Addr, s.Addr.BitLen()), Expires: exp}
	}
	return entries, nil
}

func formatEntry(e enforce.Entry) string {
	if e.Expires.IsZero() {
		return e.Prefix.String()
	}
	return e.Prefix.String() + " until " + e.Expires.UTC().Format(time.RFC3339)
}

// desiredPath is where the last applied list of a back end is kept, beside
// the store, so status can show drift.
func desiredPath(f *cmdutil.Factory, backend string) (string, error) {
	store, err := f.StoreLocation()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(store), "enforce", backend+".json"), nil
}

type savedEntry struct {
	Prefix  string    `json:"prefix"`
	Expires time.Time `json:"expires,omitzero"`
}

func saveDesired(f *cmdutil.Factory, backend string, set []enforce.Entry) error {
	path, err := desiredPath(f, backend)
	if err != nil {
		return err
	}
	out := make([]savedEntry, len(set))
	for i, e := range set {
		out[i] = savedEntry{Prefix: e.Prefix.String(), Expires: e.Expires}
	}
	data, err := json.Marshal(out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func loadDesired(f *cmdutil.Factory, backend string) ([]enforce.Entry, bool, error) {
	path, err := desiredPath(f, backend)
	if err != nil {
		return nil, false, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var saved []savedEntry
	if err := json.Unmarshal(data, &saved); err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	out := make([]enforce.Entry, 0, len(saved))
	for _, s := range saved {
		p, err := netip.ParsePrefix(s.Prefix)
		if err != nil {
			return nil, false, fmt.Errorf("read %s: %w", path, err)
		}
		out = append(out, enforce.Entry{Prefix: p, Expires: s.Expires})
	}
	return out, true, nil
}
