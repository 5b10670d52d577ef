package enforcecmd

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/enforce"
)

// BanOptions are the flags of ban and unban.
type BanOptions struct {
	Backend  BackendFlags
	For      string
	Reason   string
	Force    bool
	IPv6Bits int
}

// NewBan returns the ban command.
func NewBan(f *cmdutil.Factory) *cobra.Command {
	opts := &BanOptions{}
	cmd := &cobra.Command{
		Use:   "ban IP|CIDR...",
		Short: "Block addresses or prefixes now, on every back end given",
		Long: `Block addresses or prefixes by hand, with an optional expiry and reason. The
ban is kept (beside the store) and added to every later "enforce apply",
until it expires or "rampart unban" lifts it. Local networks and the
allowlist cannot be banned; the lockout guard applies (--force overrides).`,
		Example: `  rampart ban 203.0.113.45 --for 24h --reason "ssh brute force, 12k alerts"
  rampart ban 218.92.0.0/24 --backend nft --backend hostsdeny`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runBan(cmd.Context(), f, opts, args, true) },
	}
	registerBan(cmd, opts)
	cmd.Flags().StringVar(&opts.For, "for", "", "the ban expires after `DURATION` (e.g. 1h, 7d; default: never)")
	return cmd
}

// NewUnban returns the unban command.
func NewUnban(f *cmdutil.Factory) *cobra.Command {
	opts := &BanOptions{}
	cmd := &cobra.Command{
		Use:   "unban IP|CIDR...",
		Short: "Stop blocking addresses or prefixes, now and in later applies",
		Long: `Lift manual bans inside the given prefixes and cut the prefixes out of every
back end's list, now and in every later "enforce apply", until banned again.`,
		Example: `  rampart unban 203.0.113.45 --reason "customer's NAT gateway"`,
		Args:    cobra.MinimumNArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runBan(cmd.Context(), f, opts, args, false) },
	}
	registerBan(cmd, opts)
	return cmd
}

func registerBan(cmd *cobra.Command, opts *BanOptions) {
	opts.Backend.register(cmd)
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why, kept with the decision")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "apply despite the lockout guard (each conflict is printed)")
	cmd.Flags().IntVar(&opts.IPv6Bits, "ipv6-prefix", 64, "widen IPv6 addresses to this prefix length `BITS` (128: keep)")
}

func runBan(ctx context.Context, f *cmdutil.Factory, opts *BanOptions, args []string, ban bool) error {
	now := f.Now()
	exp, err := entryFlags(opts.IPv6Bits, opts.For, now)
	if err != nil {
		return err
	}
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	never := unionNets(cfg.LocalNetworks, cfg.Allowlist)
	m, err := loadManual(f)
	if err != nil {
		return err
	}
	author := f.Getenv("SUDO_USER")
	if author == "" {
		author = f.Getenv("USER")
	}
	for _, a := range args {
		p, err := enforce.ParseEntry(a)
		if err != nil {
			return &cmdutil.UsageError{Err: fmt.Errorf("invalid address or prefix %q", a)}
		}
		if p.Addr().Is6() && p.Bits() > opts.IPv6Bits {
			p = netip.PrefixFrom(p.Addr(), opts.IPv6Bits).Masked()
		}
		e := manualEntry{Prefix: p, Expires: exp, Reason: opts.Reason, Author: author, Created: now}
		if !ban {
			m.unban(e)
			continue
		}
		for _, n := range never {
			if n.Overlaps(p) {
				return fmt.Errorf("ban %s: overlaps %s, a local network or allowlisted: never blocked", p, n)
			}
		}
		m.ban(e)
	}
	bes, err := opts.Backend.open()
	if err != nil {
		return err
	}
	c := &converger{f: f, never: never, ipv6Bits: opts.IPv6Bits, force: opts.Force}
	// Save first: if a back end then fails, the decision is still recorded
	// and the next apply or ban brings the others in line.
	if err := saveManual(f, m); err != nil {
		return err
	}
	err = c.run(ctx, bes, func(backend string) ([]enforce.Entry, error) {
		list, _, err := loadDesired(f, backend)
		return list, err
	}, false)
	if err != nil {
		return err
	}
	verb := "banned"
	if !ban {
		verb = "unbanned"
	}
	fmt.Fprintf(f.Err, "%s %d (manual: %d bans, %d unbans)\n", verb, len(args), len(m.Bans), len(m.Unbans))
	return nil
}
