// Package configcmd is "rampart config": print the defaults, check a file.
package configcmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/config"
)

// New returns the config command.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show or check the configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "defaults",
		Short: "Print the default configuration file",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := f.Out.Write(config.Marshal(config.Defaults()))
			return err
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Check the configuration file (--config) and print it as Rampart reads it",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			c, err := f.Config()
			if err != nil {
				return err
			}
			fmt.Fprintln(f.Err, "configuration is valid")
			_, err = f.Out.Write(config.Marshal(c))
			return err
		},
	})
	return cmd
}
