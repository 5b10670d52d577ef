// Package servercmd is "rampart server": init (state, signing key, first
// admin token), run (the HTTP API) and pubkey (the key agents pin).
//
// It only wires: the API lives in internal/server, the state in
// internal/serverdb.
package servercmd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/cli/cadencecmd"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/federation/peers"
	"github.com/rampart-ids/rampart/internal/ipclass"
	"github.com/rampart-ids/rampart/internal/policy"
	"github.com/rampart-ids/rampart/internal/server"
	"github.com/rampart-ids/rampart/internal/serverdb"
	"github.com/rampart-ids/rampart/internal/web"
)

// Files in the data directory.
const (
	keyFile     = "signing.key"
	stateFile   = "state.db"
	stateDSN    = "state.dsn"
	policyFile  = "policy.toml"
	peersFile   = "peers.toml"
	defaultData = "/var/lib/rampart/server"
)

// New returns the server command.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the central block-list server",
		Long: `The central server: sensors push signals, the policy decides bans, agents
on the front-ends pull the signed, versioned list. See docs/api.md.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newInit(f), newRun(f), newPubkey(f))
	return cmd
}

// InitOptions are server init's flags.
type InitOptions struct {
	Data       string
	StateDB    string
	SigningKey string
	AdminName  string
}

func newInit(f *cmdutil.Factory) *cobra.Command {
	o := &InitOptions{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the server's state, signing key and first admin token",
		Long: `Create the data directory with the state database (SQLite, or the PostgreSQL
database given by --state-db for several replicas), an Ed25519 signing key,
and a first admin token, printed once as the last line.

A second replica on the same PostgreSQL database needs the same signing key:
give it with --signing-key (the first replica's signing.key).`,
		Example: `  rampart server init --data /var/lib/rampart/server
  rampart server init --data /srv/b --state-db postgres://rampart@db/rampart --signing-key /srv/a/signing.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runInit(cmd.Context(), f, o) },
	}
	cmd.Flags().StringVar(&o.Data, "data", defaultData, "data `DIR`")
	cmd.Flags().StringVar(&o.StateDB, "state-db", "", "PostgreSQL `DSN` for the state (default: DIR/state.db, SQLite)")
	cmd.Flags().StringVar(&o.SigningKey, "signing-key", "", "reuse this signing key `FILE` (another replica's)")
	cmd.Flags().StringVar(&o.AdminName, "admin-name", "admin", "`NAME` of the first admin token")
	return cmd
}

func runInit(ctx context.Context, f *cmdutil.Factory, o *InitOptions) error {
	if err := os.MkdirAll(o.Data, 0o750); err != nil {
		return err
	}
	kp := filepath.Join(o.Data, keyFile)
	if _, err := os.Stat(kp); err == nil {
		return fmt.Errorf("%s is already initialised (%s exists)", o.Data, kp)
	}
	var seed []byte
	if o.SigningKey != "" {
		k, err := readKey(o.SigningKey)
		if err != nil {
			return err
		}
		seed = k.Seed()
	} else {
		seed = make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return err
		}
	}
	if o.StateDB != "" {
		if !strings.HasPrefix(o.StateDB, "postgres://") && !strings.HasPrefix(o.StateDB, "postgresql://") {
			return cmdutil.FlagError("state-db", "", errors.New("want a postgres:// URL (SQLite is the default)"))
		}
		if err := os.WriteFile(filepath.Join(o.Data, stateDSN), []byte(o.StateDB+"\n"), 0o600); err != nil {
			return err
		}
	}
	db, err := serverdb.Open(ctx, stateLocation(o.Data, o.StateDB))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := os.WriteFile(kp, []byte(base64.StdEncoding.EncodeToString(seed)+"\n"), 0o600); err != nil {
		return err
	}
	secret, digest := server.NewToken()
	if _, err := db.CreateToken(ctx, o.AdminName, api.RoleAdmin, digest, f.Now()); err != nil {
		return err
	}
	signer, _ := blocklist.NewSigner(ed25519.NewKeyFromSeed(seed))
	fmt.Fprintf(f.Err, "initialised %s\nsigning key %s (agents pin: %s)\nadmin token (shown once):\n", o.Data, signer.Public().ID(), signer.Public())
	fmt.Fprintln(f.Out, secret)
	return nil
}

// stateLocation is the state database: an explicit DSN, DIR/state.dsn, or
// DIR/state.db.
func stateLocation(dir, explicit string) string {
	if explicit != "" {
		return explicit
	}
	if b, err := os.ReadFile(filepath.Join(dir, stateDSN)); err == nil {
		return strings.TrimSpace(string(b))
	}
	return filepath.Join(dir, stateFile)
}

func readKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w (run rampart server init first)", err)
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("signing key %s: not a base64 Ed25519 seed", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// RunOptions are server run's flags.
type RunOptions struct {
	Data, StateDB, Listen string
	TLSCert, TLSKey       string
	Insecure              bool
	Policy                string
	Peers                 string
	// UIStore is an alert store the web UI under /ui/ shows (overview,
	// sources, cadence, abuse drafts); without it the UI shows decisions
	// and agents only.
	UIStore string
	NoUI    bool
	Cadence cadencecmd.Flags
}

func newRun(f *cmdutil.Factory) *cobra.Command {
	o := &RunOptions{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Serve the API",
		Long: `Serve the API of docs/api.md until interrupted. Plain HTTP only on a
loopback address unless --insecure-listen; otherwise give --tls-cert and
--tls-key. The policy comes from --policy, else DIR/policy.toml, else the
built-in default ("rampart server run --help" shows where).`,
		Example: `  rampart server run --data /var/lib/rampart/server --listen 127.0.0.1:8440
  rampart server run --listen :8443 --tls-cert /etc/rampart/tls.crt --tls-key /etc/rampart/tls.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRun(cmd.Context(), f, o, cmd.Flags()) },
	}
	cmd.Flags().StringVar(&o.Data, "data", defaultData, "data `DIR` (from server init)")
	cmd.Flags().StringVar(&o.StateDB, "state-db", "", "state database `DSN` (default: what init chose)")
	cmd.Flags().StringVar(&o.Listen, "listen", "127.0.0.1:8440", "listen `ADDR`")
	cmd.Flags().StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate `FILE`")
	cmd.Flags().StringVar(&o.TLSKey, "tls-key", "", "TLS key `FILE`")
	cmd.Flags().BoolVar(&o.Insecure, "insecure-listen", false, "allow plain HTTP on a non-loopback address")
	cmd.Flags().StringVar(&o.Policy, "policy", "", "policy `FILE` (TOML)")
	cmd.Flags().StringVar(&o.UIStore, "ui-store", "", "alert store `PATH` the web UI (/ui/) shows besides decisions and agents")
	cmd.Flags().BoolVar(&o.NoUI, "no-ui", false, "do not serve the web UI under /ui/")
	o.Cadence.Register(cmd.Flags())
	cmd.Flags().StringVar(&o.Peers, "peers", "", "federation peers `FILE` (TOML; default DIR/peers.toml if present)")
	return cmd
}

func runRun(ctx context.Context, f *cmdutil.Factory, o *RunOptions, flags *pflag.FlagSet) error {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return cmdutil.FlagError("tls-cert", o.TLSCert, errors.New("give both --tls-cert and --tls-key"))
	}
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	key, err := readKey(filepath.Join(o.Data, keyFile))
	if err != nil {
		return err
	}
	signer, err := blocklist.NewSigner(key)
	if err != nil {
		return err
	}
	pol := policy.Default()
	pf := o.Policy
	if pf == "" {
		if _, err := os.Stat(filepath.Join(o.Data, policyFile)); err == nil {
			pf = filepath.Join(o.Data, policyFile)
		}
	}
	if pf != "" {
		if pol, err = policy.Load(pf); err != nil {
			return err
		}
	}
	fed := peers.Default()
	if o.Peers == "" {
		if _, err := os.Stat(filepath.Join(o.Data, peersFile)); err == nil {
			o.Peers = filepath.Join(o.Data, peersFile)
		}
	}
	if o.Peers != "" {
		if fed, err = peers.Load(o.Peers); err != nil {
			return err
		}
	}
	db, err := serverdb.Open(ctx, stateLocation(o.Data, o.StateDB))
	if err != nil {
		return err
	}
	defer db.Close()
	log := f.Logger()
	srv, err := server.New(ctx, server.Options{
		DB: db, Signer: signer, Policy: pol, Logger: log,
		Never:      slices.Concat(cfg.Allowlist, cfg.LocalNetworks),
		Management: cfg.ManagementNetworks,
	})
	if err != nil {
		return err
	}
	if !o.NoUI {
		wo := web.Options{Logger: log, SecureCookies: o.TLSCert != ""}
		if o.UIStore != "" {
			setup, err := o.Cadence.Setup(f, flags, true)
			if err != nil {
				return err
			}
			for _, n := range setup.Notes {
				fmt.Fprintln(f.Err, "note: "+n)
			}
			f.StorePath = o.UIStore
			st, err := f.Store(ctx)
			if err != nil {
				return err
			}
			wo.Alerts, wo.Hits, wo.Analyzer, wo.Contacts, wo.Drafts = st, st, setup.Analyzer, st, st
			if wo.InScope, err = inScope(cfg); err != nil {
				return err
			}
		}
		if err := srv.MountUI(wo); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error { return srv.Federate(gctx, fed) })
	g.Go(func() error {
		return srv.ListenAndServe(gctx, o.Listen, o.TLSCert, o.TLSKey, o.Insecure, func(a net.Addr) {
			log.Info("serving", "listen", a.String(), "key", signer.Public().ID(), "policy", cmpOr(pf, "built-in"))
			fmt.Fprintf(f.Err, "rampart server listening on %s\n", a)
		})
	})
	err = g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func newPubkey(f *cmdutil.Factory) *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "pubkey",
		Short: "Print the list-signing public key agents pin",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := readKey(filepath.Join(data, keyFile))
			if err != nil {
				return err
			}
			s, err := blocklist.NewSigner(key)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(f.Out, s.Public().String())
			return err
		},
	}
	cmd.Flags().StringVar(&data, "data", defaultData, "data `DIR` (from server init)")
	return cmd
}

// inScope lists internet sources in the UI, as top does by default.
func inScope(cfg config.Config) (func(netip.Addr) bool, error) {
	c, err := ipclass.New(cfg.LocalNetworks)
	if err != nil {
		return nil, err
	}
	return c.InScope(ipclass.Internet), nil
}
