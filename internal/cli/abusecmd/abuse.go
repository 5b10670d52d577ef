// Package abusecmd is "rampart abuse": finding who handles abuse for an
// attacking address ("abuse contact"), and the reports drafted, reviewed
// and sent to them.
//
// It holds only command-line wiring: lookups are package abuse/lookup's
// (with abuse/rdap and abuse/whois), drafts and mail are their packages'.
// It never sends anything the operator has not approved.
package abusecmd

import (
	"github.com/spf13/cobra"

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
	// The report subcommands (draft, list, show, edit, approve, discard,
	// send) are added here:
	// cmd.AddCommand(reportCommands(f)...)
	return cmd
}
