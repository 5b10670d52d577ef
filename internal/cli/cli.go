// Package cli is rampart's command line: the root command, the wiring of
// every command package, and the one place that maps errors to exit codes.
// It is the only package that imports the CLI library's root.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/cli/abusecmd"
	"github.com/rampart-ids/rampart/internal/cli/agentcmd"
	"github.com/rampart-ids/rampart/internal/cli/cadencecmd"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/cli/configcmd"
	"github.com/rampart-ids/rampart/internal/cli/dbcmd"
	"github.com/rampart-ids/rampart/internal/cli/decisionscmd"
	"github.com/rampart-ids/rampart/internal/cli/enforcecmd"
	"github.com/rampart-ids/rampart/internal/cli/grafanacmd"
	"github.com/rampart-ids/rampart/internal/cli/importcmd"
	"github.com/rampart-ids/rampart/internal/cli/ipcmd"
	"github.com/rampart-ids/rampart/internal/cli/peerscmd"
	"github.com/rampart-ids/rampart/internal/cli/rulescmd"
	"github.com/rampart-ids/rampart/internal/cli/samplecmd"
	"github.com/rampart-ids/rampart/internal/cli/sensorcmd"
	"github.com/rampart-ids/rampart/internal/cli/servercmd"
	"github.com/rampart-ids/rampart/internal/cli/summarycmd"
	"github.com/rampart-ids/rampart/internal/cli/timelinecmd"
	"github.com/rampart-ids/rampart/internal/cli/tokencmd"
	"github.com/rampart-ids/rampart/internal/cli/topcmd"
	"github.com/rampart-ids/rampart/internal/cli/uicmd"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitInterrupted = 130
)

// Stdio are the process's standard streams.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// Main runs rampart with args and returns the exit code.
func Main(ctx context.Context, args []string, stdio Stdio) int {
	f := &cmdutil.Factory{In: stdio.In, Out: stdio.Out, Err: stdio.Err, Now: time.Now, Getenv: os.Getenv}
	root := NewRoot(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stdio.Err, "rampart: %v\n", err)
	switch {
	// cobra reports an unknown subcommand as a plain error.
	case cmdutil.IsUsage(err), strings.HasPrefix(err.Error(), "unknown command "):
		fmt.Fprintln(stdio.Err, "Run 'rampart --help' for usage.")
		return ExitUsage
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	default:
		return ExitError
	}
}

// NewRoot returns the root command with every subcommand.
func NewRoot(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "rampart",
		Short: "Turn OSSEC alerts into knowledge of who attacks you",
		Long: `Rampart reads OSSEC alerts (alerts.log, alerts.json, the ossec-dbd database),
finds the sources that attack you, and shows their history.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(f.Out)
	root.SetErr(f.Err)
	root.SetIn(f.In)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cmdutil.UsageError{Err: err} })
	pf := root.PersistentFlags()
	pf.StringVar(&f.ConfigPath, "config", "", "config `FILE` (default /etc/rampart/rampart.toml if present)")
	pf.StringVar(&f.StorePath, "store", "", "store `PATH` (default $RAMPART_STORE, the config's store, or /var/lib/rampart/rampart.db as root, else $XDG_DATA_HOME/rampart/rampart.db)")
	pf.StringVar(&f.LogLevel, "log-level", "warn", "diagnostics level: debug, info, warn, error")
	root.AddCommand(
		topcmd.New(f),
		ipcmd.New(f),
		cadencecmd.New(f),
		timelinecmd.New(f),
		summarycmd.New(f),
		importcmd.New(f),
		samplecmd.New(f),
		configcmd.New(f),
		dbcmd.New(f),
		enforcecmd.New(f),
		enforcecmd.NewBan(f),
		enforcecmd.NewUnban(f),
		abusecmd.New(f),
		rulescmd.New(f),
		servercmd.New(f),
		tokencmd.New(f),
		decisionscmd.New(f),
		sensorcmd.New(f),
		agentcmd.New(f),
		peerscmd.New(f),
		grafanacmd.New(f),
		uicmd.New(f),
	)
	// Wrong arguments (cobra.Args validators) are usage errors too.
	for _, c := range root.Commands() {
		wrapArgs(c)
	}
	return root
}

func wrapArgs(c *cobra.Command) {
	if c.Args != nil {
		orig := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := orig(cmd, args); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}
