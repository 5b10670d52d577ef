package abusecmd

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/abuse"
	"github.com/rampart-ids/rampart/internal/abuse/lookup"
	"github.com/rampart-ids/rampart/internal/abuse/rdap"
	"github.com/rampart-ids/rampart/internal/abuse/whois"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
)

// DefaultTimeout bounds each server asked (each RDAP request, each whois
// hop).
const DefaultTimeout = 15 * time.Second

// ContactOptions are abuse contact's arguments and flags.
type ContactOptions struct {
	Addrs         []string
	Format        string
	RDAPBootstrap string
	WhoisServer   string
	Timeout       time.Duration
	NoCache       bool
	Refresh       bool
}

func newContact(f *cmdutil.Factory) *cobra.Command {
	opts := &ContactOptions{}
	cmd := &cobra.Command{
		Use:   "contact IP...",
		Short: "Show who handles abuse for addresses",
		Long: `Show the abuse contact of each address: the abuse mailboxes, the network
they answer for, its name, holder, country and registry, and where the
answer came from.

RDAP is asked first (the IANA bootstrap data names the registry; the
files are kept next to the store and fetched again after a day); whois
is asked when RDAP fails or names no abuse mailbox. Answers are cached in
the store for the whole network they cover, for 7 days (answers without
a mailbox for a day, for their own address only).`,
		Example: `  rampart abuse contact 192.0.2.10
  rampart abuse contact 192.0.2.10 2001:db8::1 --format json
  rampart abuse contact 192.0.2.10 --refresh
  rampart abuse contact 192.0.2.10 --rdap-bootstrap https://rdap.example.net/bootstrap/ --whois-server whois.example.net:43`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Addrs = args
			return runContact(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Format, "format", cmdutil.FormatTable, "output: table or json")
	fl.StringVar(&opts.RDAPBootstrap, "rdap-bootstrap", rdap.DefaultBootstrapURL, "RDAP bootstrap files (ipv4.json, ipv6.json) below `URL`")
	fl.StringVar(&opts.WhoisServer, "whois-server", whois.DefaultStart, "first whois server asked, `HOST:PORT`")
	fl.DurationVar(&opts.Timeout, "timeout", DefaultTimeout, "time allowed each server asked")
	fl.BoolVar(&opts.NoCache, "no-cache", false, "neither read nor write cached answers or bootstrap files")
	fl.BoolVar(&opts.Refresh, "refresh", false, "ask the registries even for cached answers (and fetch the bootstrap files again)")
	return cmd
}

// ContactResult is one address's line of abuse contact's JSON output.
type ContactResult struct {
	abuse.Contact
	// Cached is true when the answer came from the store.
	Cached bool `json:"cached"`
	// Expires is when the cached answer is asked for again.
	Expires *time.Time `json:"expires,omitempty"`
	// Notes say what failed on the way to the answer.
	Notes []string `json:"notes,omitempty"`
	// Error is why there is no answer.
	Error string `json:"error,omitempty"`
}

func runContact(ctx context.Context, f *cmdutil.Factory, opts *ContactOptions) error {
	if err := cmdutil.CheckFormat(opts.Format, cmdutil.FormatTable, cmdutil.FormatJSON); err != nil {
		return err
	}
	if opts.NoCache && opts.Refresh {
		return &cmdutil.UsageError{Err: fmt.Errorf("--no-cache and --refresh exclude each other")}
	}
	if opts.Timeout <= 0 {
		return cmdutil.FlagError("timeout", opts.Timeout.String(), fmt.Errorf("want a positive duration"))
	}
	addrs, err := parseAddrs(opts.Addrs)
	if err != nil {
		return err
	}
	res, err := newResolver(ctx, f, opts)
	if err != nil {
		return err
	}
	var results []ContactResult
	failed := 0
	for _, a := range addrs {
		r, err := res.Resolve(ctx, a)
		cr := ContactResult{Contact: r.Contact, Cached: r.Cached, Notes: r.Notes}
		if !r.Expires.IsZero() {
			exp := r.Expires.UTC()
			cr.Expires = &exp
		}
		if cr.Emails == nil {
			cr.Emails = []string{}
		}
		for _, n := range r.Notes {
			fmt.Fprintf(f.Err, "%s: %s\n", a, n)
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			failed++
			cr.Addr, cr.Error = a, err.Error()
			fmt.Fprintf(f.Err, "%s: no answer: %v\n", a, err)
		case !r.Found():
			fmt.Fprintf(f.Err, "%s: no abuse mailbox: %s names none for %s\n", a, source(r.Contact), network(r.Contact))
		}
		results = append(results, cr)
	}
	if opts.Format == cmdutil.FormatJSON {
		if err := cmdutil.WriteJSON(f.Out, results); err != nil {
			return err
		}
	} else if err := writeContacts(f, results); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d lookups failed", failed, len(addrs))
	}
	return nil
}

// parseAddrs reads the addresses, refusing those no registry answers for.
func parseAddrs(args []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range args {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, &cmdutil.UsageError{Err: fmt.Errorf("invalid address %q", s)}
		}
		a = a.Unmap()
		if !a.IsGlobalUnicast() || a.IsPrivate() {
			return nil, &cmdutil.UsageError{Err: fmt.Errorf("%s is not a public address: no registry holds its abuse contact", a)}
		}
		out = append(out, a)
	}
	return out, nil
}

// newResolver wires RDAP, whois and the store's cache as opts say.
func newResolver(ctx context.Context, f *cmdutil.Factory, opts *ContactOptions) (*lookup.Resolver, error) {
	logger := f.Logger()
	ro := rdap.Options{BootstrapURL: opts.RDAPBootstrap, Timeout: opts.Timeout, Now: f.Now, Logger: logger}
	lo := lookup.Options{Refresh: opts.Refresh, Now: f.Now, Logger: logger}
	if !opts.NoCache {
		store, err := f.Store(ctx)
		if err != nil {
			return nil, err
		}
		// The bootstrap files live beside the store, one set per URL.
		ro.CacheDir = filepath.Join(filepath.Dir(store.Path()), "rdap-bootstrap")
		lo.Cache = store
	}
	rc, err := rdap.New(ro)
	if err != nil {
		return nil, cmdutil.FlagError("rdap-bootstrap", opts.RDAPBootstrap, err)
	}
	if opts.Refresh {
		// A stale copy still answers; say so and go on.
		if err := rc.Refresh(ctx); err != nil {
			fmt.Fprintf(f.Err, "refresh: %v (using the bootstrap files at hand)\n", err)
		}
	}
	if strings.TrimSpace(opts.WhoisServer) == "" {
		return nil, cmdutil.FlagError("whois-server", opts.WhoisServer, fmt.Errorf("want HOST:PORT"))
	}
	lo.RDAP = rc
	lo.Whois = &whois.Client{Start: opts.WhoisServer, Timeout: opts.Timeout, Now: f.Now, Logger: logger}
	return lookup.New(lo)
}

func writeContacts(f *cmdutil.Factory, results []ContactResult) error {
	header := []string{"IP", "ABUSE", "RANGE", "NETNAME", "ORG", "COUNTRY", "REGISTRY", "SOURCE", "ANSWER"}
	var rows [][]string
	for _, r := range results {
		if r.Error != "" {
			continue
		}
		answer := "fresh"
		if r.Cached {
			answer = "cached"
		}
		rows = append(rows, []string{
			r.Addr.String(), orDash(strings.Join(r.Emails, ",")), orDash(prefixes(r.Range)), orDash(r.NetName),
			orDash(r.Org), orDash(r.Country), orDash(r.Registry), source(r.Contact), answer,
		})
	}
	if len(rows) == 0 {
		return nil
	}
	return cmdutil.WriteTable(f.Out, header, rows)
}

func source(c abuse.Contact) string {
	if c.Server == "" {
		return c.Source
	}
	return c.Source + " " + c.Server
}

func network(c abuse.Contact) string {
	var parts []string
	for _, s := range []string{c.NetName, prefixes(c.Range), c.Org} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return c.Addr.String()
	}
	return strings.Join(parts, " ")
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
