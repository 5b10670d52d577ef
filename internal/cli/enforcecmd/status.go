package enforcecmd

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/enforce"
)

func newStatus(f *cmdutil.Factory) *cobra.Command {
	var b BackendFlags
	var format string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what each back end blocks, against the last applied list",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckFormat(format, cmdutil.FormatTable, cmdutil.FormatJSON); err != nil {
				return err
			}
			return runStatus(cmd.Context(), f, &b, format)
		},
	}
	b.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output: table or json")
	return cmd
}

// BackendStatus is one back end in "enforce status --format json".
type BackendStatus struct {
	Backend string   `json:"backend"`
	Applied int      `json:"applied"`
	Desired *int     `json:"desired"`
	Missing []string `json:"missing"`
	Extra   []string `json:"extra"`
}

func runStatus(ctx context.Context, f *cmdutil.Factory, b *BackendFlags, format string) error {
	bes, err := b.open()
	if err != nil {
		return err
	}
	now := f.Now()
	m, err := loadManual(f)
	if err != nil {
		return err
	}
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	never := unionNets(cfg.LocalNetworks, cfg.Allowlist, m.unbanned())
	var out []BackendStatus
	for _, be := range bes {
		applied, err := be.Status(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", be.Name(), err)
		}
		st := BackendStatus{Backend: be.Name(), Applied: len(applied), Missing: []string{}, Extra: []string{}}
		list, ok, err := loadDesired(f, be.Name())
		if err != nil {
			return err
		}
		if ok || len(m.Bans) > 0 {
			// What expired since the last apply is gone on purpose.
			desired := enforce.Normalize(append(list, m.banned()...), enforce.NormalizeOptions{Now: now, Never: never})
			n := len(desired)
			st.Desired = &n
			add, remove, _ := enforce.Diff(desired, applied)
			for _, e := range add {
				st.Missing = append(st.Missing, formatEntry(e))
			}
			for _, e := range remove {
				st.Extra = append(st.Extra, formatEntry(e))
			}
		}
		out = append(out, st)
	}
	if format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(f.Out, out)
	}
	for _, st := range out {
		desired := "never applied by rampart"
		if st.Desired != nil {
			desired = fmt.Sprintf("%d desired", *st.Desired)
		}
		drift := "in sync"
		if len(st.Missing)+len(st.Extra) > 0 {
			drift = fmt.Sprintf("DRIFT: %d missing, %d unexpected", len(st.Missing), len(st.Extra))
		}
		fmt.Fprintf(f.Out, "%s: %d applied, %s, %s\n", st.Backend, st.Applied, desired, drift)
		for _, m := range st.Missing {
			fmt.Fprintf(f.Out, "  missing    %s\n", m)
		}
		for _, x := range st.Extra {
			fmt.Fprintf(f.Out, "  unexpected %s\n", x)
		}
	}
	return nil
}

func newRemove(f *cmdutil.Factory) *cobra.Command {
	var b BackendFlags
	cmd := &cobra.Command{
		Use:   "remove",
		Short: "Remove everything Rampart added to the back ends",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bes, err := b.open()
			if err != nil {
				return err
			}
			for _, be := range bes {
				if err := be.Remove(cmd.Context()); err != nil {
					return fmt.Errorf("%s: %w", be.Name(), err)
				}
				if path, err := desiredPath(f, be.Name()); err == nil {
					removeFile(path)
				}
				fmt.Fprintf(f.Err, "%s: removed\n", be.Name())
			}
			return nil
		},
	}
	b.register(cmd)
	return cmd
}

func removeFile(path string) { os.Remove(path) }
