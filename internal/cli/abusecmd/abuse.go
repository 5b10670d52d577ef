// Package abusecmd is "rampart abuse": finding who handles abuse for an
// attacking address ("abuse contact"), and the reports drafted, reviewed
// and sent to them.
//
// It holds only command-line wiring: lookups are package abuse/lookup's
// (with abuse/rdap and abuse/whois), drafts and mail are their packages'.
// It never sends anything the operator has not approved.
package abusecmd

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rampart-ids/rampart/internal/abuse/rdap"
	"github.com/rampart-ids/rampart/internal/abuse/whois"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
)

// New returns the abuse command with its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "abuse",
		Short: "Find abuse contacts and report attackers to them",
		Long: `Find who handles abuse for an address (RDAP, then whois) and report
attacking addresses to them with the evidence from the alerts.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newContact(f))
	// The report subcommands: draft finds each address's contact with the
	// same RDAP-then-whois lookup (and cache) as "abuse contact".
	lookupOpts := &ContactOptions{Timeout: DefaultTimeout}
	flags := func(fl *pflag.FlagSet) {
		fl.StringVar(&lookupOpts.RDAPBootstrap, "rdap-bootstrap", rdap.DefaultBootstrapURL, "RDAP bootstrap files (ipv4.json, ipv6.json) below `URL`")
		fl.StringVar(&lookupOpts.WhoisServer, "whois-server", whois.DefaultStart, "first whois server asked, `HOST:PORT`")
		fl.DurationVar(&lookupOpts.Timeout, "timeout", DefaultTimeout, "time allowed each server asked")
	}
	open := func(ctx context.Context) (ContactFinder, error) { return newResolver(ctx, f, lookupOpts) }
	cmd.AddCommand(DraftCommands(f, WithContactFinder(flags, open))...)
	return cmd
}
