// Package agentcmd is "rampart agent": the front-end side of the central
// block list (internal/agent) driving the countermeasure back ends of
// "rampart enforce".
package agentcmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/rampart-ids/rampart/internal/agent"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/cli/enforcecmd"
)

// Options are the agent's flags.
type Options struct {
	Server, Token      string
	PubKey, PubKeyFile string
	StateDir           string
	MaxChange          float64
	Wait               time.Duration
	MetricsListen      string
	DriftCheck         time.Duration
	Backends           enforcecmd.BackendFlags
}

// New returns the agent command.
func New(f *cmdutil.Factory) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Pull the server's block list and apply it on this host",
		Long: `Long-poll the central server, verify every list and delta against the pinned
key ("rampart server pubkey" prints it), and apply the result through the
countermeasure back ends, atomically. The last good list is kept in
--state-dir and re-applied at start, before the server answers: a server
outage never opens the firewall.

The allowlist and local networks of the config file are never blocked: a
list covering them is refused whole. A list that changes more than
--max-change of the entries at once is refused unless the server marked it
intended.`,
		Example: `  RAMPART_TOKEN=rpt_... rampart agent --server https://rampart.example:8443 \
      --pubkey rampart-ed25519:... --backend nft`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			token := o.Token
			if token == "" && f.Getenv != nil {
				token = f.Getenv("RAMPART_TOKEN")
			}
			server := o.Server
			if server == "" && f.Getenv != nil {
				server = f.Getenv("RAMPART_SERVER")
			}
			key, err := pinnedKey(o)
			if err != nil {
				return err
			}
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			bes, err := o.Backends.Open()
			if err != nil {
				return err
			}
			enforcers := make([]agent.Enforcer, len(bes))
			for i, b := range bes {
				enforcers[i] = b
			}
			a, err := agent.New(agent.Options{
				Server: server, Token: token, Key: key, Enforcers: enforcers,
				Never: slices.Concat(cfg.Allowlist, cfg.LocalNetworks), MaxChange: o.MaxChange,
				StateDir: o.StateDir, Wait: o.Wait, DriftCheck: o.DriftCheck, Logger: f.Logger(),
				Ready: func() {
					if err := notifyReady(); err != nil {
						f.Logger().Warn("notify systemd", "error", err)
					}
				},
			})
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			fmt.Fprintf(f.Err, "rampart agent: %s, key %s, back ends %s\n", server, key.ID(), strings.Join(o.Backends.Backends, ","))
			if o.MetricsListen == "" {
				return a.Run(cmd.Context())
			}
			return runWithMetrics(cmd.Context(), a, o.MetricsListen, f)
		},
	}
	cmd.Flags().StringVar(&o.Server, "server", "", "server `URL` (default $RAMPART_SERVER)")
	cmd.Flags().StringVar(&o.Token, "token", "", "agent `TOKEN` (default $RAMPART_TOKEN)")
	cmd.Flags().StringVar(&o.PubKey, "pubkey", "", "the server's list-signing `KEY` (rampart-ed25519:...)")
	cmd.Flags().StringVar(&o.PubKeyFile, "pubkey-file", "", "read the key from `FILE`")
	cmd.Flags().StringVar(&o.StateDir, "state-dir", "/var/lib/rampart/agent", "where the last good list is kept (`DIR`)")
	cmd.Flags().Float64Var(&o.MaxChange, "max-change", 0.5, "refuse lists changing more than this `SHARE` of the entries at once (0: off)")
	cmd.Flags().DurationVar(&o.Wait, "wait", 30*time.Second, "long-poll `DURATION`")
	cmd.Flags().DurationVar(&o.DriftCheck, "drift-check", 5*time.Minute, "read back what the back ends hold this often while the list is unchanged, and re-apply on drift (`DURATION`; negative: never)")
	cmd.Flags().StringVar(&o.MetricsListen, "metrics-listen", "", "serve /metrics, /healthz and /readyz on `ADDR` (e.g. 127.0.0.1:9441)")
	o.Backends.Register(cmd)
	return cmd
}

func pinnedKey(o *Options) (blocklist.PublicKey, error) {
	s := o.PubKey
	if o.PubKeyFile != "" {
		if s != "" {
			return blocklist.PublicKey{}, &cmdutil.UsageError{Err: errors.New("give --pubkey or --pubkey-file, not both")}
		}
		b, err := os.ReadFile(o.PubKeyFile)
		if err != nil {
			return blocklist.PublicKey{}, err
		}
		s = string(b)
	}
	if s == "" {
		return blocklist.PublicKey{}, &cmdutil.UsageError{Err: errors.New("give the server's key: --pubkey or --pubkey-file (rampart server pubkey prints it)")}
	}
	k, err := blocklist.ParsePublicKey(s)
	if err != nil {
		return blocklist.PublicKey{}, cmdutil.FlagError("pubkey", s, err)
	}
	return k, nil
}

// runWithMetrics runs the agent beside its metrics and health endpoints.
func runWithMetrics(ctx context.Context, a *agent.Agent, addr string, f *cmdutil.Factory) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return cmdutil.FlagError("metrics-listen", addr, err)
	}
	hs := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		err := a.Run(gctx)
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		return err
	})
	fmt.Fprintf(f.Err, "rampart agent: metrics on %s\n", ln.Addr())
	return g.Wait()
}
