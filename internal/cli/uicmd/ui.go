// Package uicmd is "rampart ui": the web UI (internal/web) over the alert
// store of a single host, without a central server. It wires the store,
// the cadence settings, the abuse lookups and the sign-in token, and
// serves until interrupted.
//
// It only wires: the pages live in internal/web. The central server
// mounts the same UI under /ui/ with its own tokens and decisions.
package uicmd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/abuse/lookup"
	"github.com/rampart-ids/rampart/internal/abuse/rdap"
	"github.com/rampart-ids/rampart/internal/abuse/whois"
	"github.com/rampart-ids/rampart/internal/atomicfile"
	"github.com/rampart-ids/rampart/internal/cli/cadencecmd"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/web"
)

// TokenFileName is the sign-in token's digest file, beside the store
// unless --token-file says otherwise.
const TokenFileName = "ui-token.sha256"

// Options are rampart ui's flags.
type Options struct {
	Listen    string
	TLSCert   string
	TLSKey    string
	Insecure  bool
	TokenFile string
	NewToken  bool

	Scope     string
	LocalNets string

	Cadence cadencecmd.Flags

	NoLookup      bool
	RDAPBootstrap string
	WhoisServer   string
	LookupTimeout time.Duration

	// NoCache recomputes the overview at every view (bench/ui.sh).
	NoCache bool
	// Ready, when set, is called with the listening address (tests).
	Ready func(addr net.Addr)
}

// New returns the ui command.
func New(f *cmdutil.Factory) *cobra.Command { return newCmd(f, &Options{}) }

func newCmd(f *cmdutil.Factory, o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve the web UI over the alert store",
		Long: `Serve the web UI over the alert store: alerts per day, top sources and
prefixes, flagged returners, a page per source (timeline, cadence, rules,
log lines, abuse contact) and the abuse report drafts to review.

Sign-in is by token. At first start a token is made, printed once on
stdout, and only its SHA-256 digest is kept, in ui-token.sha256 beside the
store (--token-file); --new-token replaces it. Plain HTTP is served only on
a loopback address; give --tls-cert and --tls-key to listen elsewhere (or
--insecure-listen behind a TLS proxy). Decisions and agents are pages of
the central server's UI ("rampart server run" serves it under /ui/).`,
		Example: `  rampart ui --store /var/lib/rampart/rampart.db
  rampart ui --listen 127.0.0.1:8441 --ossec-conf /var/ossec/etc/ossec.conf
  ssh -L 8441:127.0.0.1:8441 ossec-manager   # then open http://127.0.0.1:8441/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd, f, o) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Listen, "listen", "127.0.0.1:8441", "listen `ADDR`")
	fl.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate `FILE`")
	fl.StringVar(&o.TLSKey, "tls-key", "", "TLS key `FILE`")
	fl.BoolVar(&o.Insecure, "insecure-listen", false, "allow plain HTTP on a non-loopback address (TLS ends at a proxy)")
	fl.StringVar(&o.TokenFile, "token-file", "", "sign-in token digest `FILE` (default ui-token.sha256 beside the store)")
	fl.BoolVar(&o.NewToken, "new-token", false, "make a new sign-in token, replacing the old one")
	fl.StringVar(&o.Scope, "scope", "internet", "which sources the lists show: internet, local or all")
	fl.StringVar(&o.LocalNets, "local-nets", "", "local networks as `CIDR,...` (overrides local_networks of the config)")
	o.Cadence.Register(fl)
	fl.BoolVar(&o.NoLookup, "no-lookup", false, "no abuse contact lookups from the UI (the cache is still shown)")
	fl.StringVar(&o.RDAPBootstrap, "rdap-bootstrap", rdap.DefaultBootstrapURL, "RDAP bootstrap files below `URL`")
	fl.StringVar(&o.WhoisServer, "whois-server", whois.DefaultStart, "first whois server asked, `HOST:PORT`")
	fl.DurationVar(&o.LookupTimeout, "lookup-timeout", 10*time.Second, "time allowed each registry server asked")
	fl.BoolVar(&o.NoCache, "no-cache", false, "recompute the overview at every view (for benchmarks)")
	_ = fl.MarkHidden("no-cache")
	return cmd
}

func run(cmd *cobra.Command, f *cmdutil.Factory, o *Options) error {
	ctx := cmd.Context()
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return cmdutil.FlagError("tls-cert", o.TLSCert, errors.New("give both --tls-cert and --tls-key"))
	}
	if o.LookupTimeout <= 0 {
		return cmdutil.FlagError("lookup-timeout", o.LookupTimeout.String(), errors.New("want a positive duration"))
	}
	inScope, err := cmdutil.InScope(f, o.Scope, o.LocalNets, cmd.Flags().Changed("local-nets"))
	if err != nil {
		return err
	}
	setup, err := o.Cadence.Setup(f, cmd.Flags(), true)
	if err != nil {
		return err
	}
	store, err := f.Store(ctx)
	if err != nil {
		return err
	}
	tokenFile := o.TokenFile
	if tokenFile == "" {
		tokenFile = filepath.Join(filepath.Dir(store.Path()), TokenFileName)
	}
	digest, secret, err := loadToken(tokenFile, o.NewToken)
	if err != nil {
		return err
	}
	log := f.Logger()
	for _, n := range setup.Notes {
		fmt.Fprintln(f.Err, "note: "+n)
	}
	wo := web.Options{
		Prefix: "/", Auth: web.StaticToken{Name: "admin", Digest: digest},
		Alerts: store, Hits: store, Analyzer: setup.Analyzer, Contacts: store, Drafts: store,
		InScope: inScope, SecureCookies: o.TLSCert != "", NoCache: o.NoCache,
		Now: f.Now, Logger: log,
	}
	if !o.NoLookup {
		if wo.Lookup, err = resolver(f, o, store.Path(), store, log); err != nil {
			return err
		}
	}
	h, err := web.New(wo)
	if err != nil {
		return err
	}
	ln, err := listen(o)
	if err != nil {
		return err
	}
	scheme := "http"
	if o.TLSCert != "" {
		scheme = "https"
	}
	if secret != "" {
		fmt.Fprintf(f.Err, "new sign-in token (shown once; %s keeps its digest):\n", tokenFile)
		fmt.Fprintln(f.Out, secret)
	}
	fmt.Fprintf(f.Err, "rampart ui listening on %s://%s/ (sign in with the token whose digest is in %s)\n", scheme, ln.Addr(), tokenFile)
	if o.Ready != nil {
		o.Ready(ln.Addr())
	}
	return serve(ctx, ln, h, o, log)
}

// loadToken reads the token digest, or makes a new token (when the file
// is missing or renew is set) and returns its secret to be shown once.
func loadToken(path string, renew bool) (digest [sha256.Size]byte, secret string, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil && !renew:
		s := strings.TrimSpace(string(b))
		raw, derr := hex.DecodeString(s)
		if derr != nil || len(raw) != sha256.Size {
			return digest, "", fmt.Errorf("token file %s: want the 64 hex digits of a SHA-256 digest (delete it or give --new-token to make a new token)", path)
		}
		copy(digest[:], raw)
		return digest, "", nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return digest, "", fmt.Errorf("token file: %w", err)
	}
	var r [32]byte
	if _, err := rand.Read(r[:]); err != nil {
		return digest, "", err
	}
	secret = "rpt_ui_" + base64.RawURLEncoding.EncodeToString(r[:])
	digest = sha256.Sum256([]byte(secret))
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return digest, "", fmt.Errorf("token file: %w", err)
	}
	if err := atomicfile.WriteFile(path, []byte(hex.EncodeToString(digest[:])+"\n"), 0o600); err != nil {
		return digest, "", fmt.Errorf("token file: %w", err)
	}
	return digest, secret, nil
}

// resolver wires RDAP, whois and the store's contact cache, as "rampart
// abuse contact" does.
func resolver(f *cmdutil.Factory, o *Options, storePath string, cache lookup.Cache, log *slog.Logger) (*lookup.Resolver, error) {
	rc, err := rdap.New(rdap.Options{BootstrapURL: o.RDAPBootstrap, Timeout: o.LookupTimeout, Now: f.Now, Logger: log,
		CacheDir: filepath.Join(filepath.Dir(storePath), "rdap-bootstrap")})
	if err != nil {
		return nil, cmdutil.FlagError("rdap-bootstrap", o.RDAPBootstrap, err)
	}
	if strings.TrimSpace(o.WhoisServer) == "" {
		return nil, cmdutil.FlagError("whois-server", o.WhoisServer, errors.New("want HOST:PORT"))
	}
	wc := &whois.Client{Start: o.WhoisServer, Timeout: o.LookupTimeout, Now: f.Now, Logger: log}
	return lookup.New(lookup.Options{RDAP: rc, Whois: wc, Cache: cache, Now: f.Now, Logger: log})
}

// listen opens the listener, refusing plain HTTP off loopback unless
// --insecure-listen.
func listen(o *Options) (net.Listener, error) {
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, err
	}
	if o.TLSCert == "" && !o.Insecure {
		if ap, err := netip.ParseAddrPort(ln.Addr().String()); err != nil || !ap.Addr().IsLoopback() {
			ln.Close()
			return nil, cmdutil.FlagError("listen", o.Listen, errors.New("plain HTTP is only served on loopback: give --tls-cert and --tls-key, or --insecure-listen behind a TLS proxy"))
		}
	}
	return ln, nil
}

// serve runs the HTTP server until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, h http.Handler, o *Options, log *slog.Logger) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// An abuse lookup may take 25 s.
		WriteTimeout:   40 * time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() {
		if o.TLSCert != "" {
			errc <- hs.ServeTLS(ln, o.TLSCert, o.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			return err
		}
		return nil
	}
}
