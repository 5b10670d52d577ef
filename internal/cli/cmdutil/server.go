package cmdutil

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/api/apiclient"
)

// ServerFlags locate the central server for the admin commands (token,
// decisions): --server and --token, or RAMPART_SERVER and RAMPART_TOKEN
// (an environment variable keeps the token out of ps and shell history).
type ServerFlags struct {
	Server string
	Token  string
}

// Register adds --server and --token.
func (s *ServerFlags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&s.Server, "server", "", "server `URL` (default $RAMPART_SERVER)")
	fs.StringVar(&s.Token, "token", "", "admin `TOKEN` (default $RAMPART_TOKEN)")
}

// Client returns an API client for the flags.
func (s *ServerFlags) Client(f *Factory) (*apiclient.Client, error) {
	srv, tok := s.Server, s.Token
	if srv == "" && f.Getenv != nil {
		srv = f.Getenv("RAMPART_SERVER")
	}
	if tok == "" && f.Getenv != nil {
		tok = f.Getenv("RAMPART_TOKEN")
	}
	return apiclient.New(srv, tok)
}

// DecisionUntil is a decision's UNTIL column at now: its expiry (UTC,
// RFC 3339), "permanent", "expired <time>" or "deleted <time>".
func DecisionUntil(d api.Decision, now time.Time) string {
	switch {
	case !d.Deleted.IsZero():
		return "deleted " + d.Deleted.UTC().Format(time.RFC3339)
	case d.Expires.IsZero():
		return "permanent"
	case !d.Expires.After(now):
		return "expired " + d.Expires.UTC().Format(time.RFC3339)
	}
	return d.Expires.UTC().Format(time.RFC3339)
}
