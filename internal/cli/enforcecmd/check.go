package enforcecmd

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/enforce/libwrap"
)

func newCheck(f *cmdutil.Factory) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Show which listening services hosts.deny protects and which need the firewall",
		Long: `List the listening TCP services and, for each, whether its program is linked
with libwrap (read from the ELF dynamic section; for OpenSSH also
sshd-session). Only those honour hosts.deny; every other service needs a
firewall back end (nft, ipset).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckFormat(format, cmdutil.FormatTable, cmdutil.FormatJSON); err != nil {
				return err
			}
			services, err := libwrap.Check(cmd.Context(), libwrap.Options{})
			if err != nil {
				return err
			}
			if format == cmdutil.FormatJSON {
				if services == nil {
					services = []libwrap.Service{}
				}
				return cmdutil.WriteJSON(f.Out, services)
			}
			rows := make([][]string, len(services))
			for i, s := range services {
				rows[i] = []string{fmt.Sprintf("%s:%d", s.Addr, s.Port), strconv.Itoa(s.PID), s.Exe, yesNo(s.Libwrap), s.Verdict}
			}
			return cmdutil.WriteTable(f.Out, []string{"LISTEN", "PID", "PROGRAM", "LIBWRAP", "VERDICT"}, rows)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output: table or json")
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
