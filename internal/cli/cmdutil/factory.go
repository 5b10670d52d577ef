// Package cmdutil is what every rampart command shares: the Factory that
// lazily opens the config, the store and the logger, the query flags of top
// and ip, parsing of times and output formats, and the error kinds that map
// to exit codes.
//
// It must not hold command logic: each command lives in its own package.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/config"
)

// Factory gives commands their dependencies, opened on first use.
type Factory struct {
	In       io.Reader
	Out, Err io.Writer
	Now      func() time.Time
	Getenv   func(string) string

	// Set by the root command's persistent flags.
	ConfigPath string
	StorePath  string
	LogLevel   string

	cfg    *config.Config
	store  *alertdb.Store
	logger *slog.Logger
}

// Config loads the config file once.
func (f *Factory) Config() (config.Config, error) {
	if f.cfg != nil {
		return *f.cfg, nil
	}
	path := f.ConfigPath
	if path == "" {
		path = config.DefaultPath
	}
	c, err := config.Load(path)
	if err != nil {
		return config.Config{}, err
	}
	f.cfg = &c
	return c, nil
}

// StoreLocation returns the store path: --store, then $RAMPART_STORE, then
// the config file, then the default location.
func (f *Factory) StoreLocation() (string, error) {
	if f.StorePath != "" {
		return f.StorePath, nil
	}
	if f.Getenv != nil {
		if p := f.Getenv("RAMPART_STORE"); p != "" {
			return p, nil
		}
	}
	c, err := f.Config()
	if err != nil {
		return "", err
	}
	if c.Store != "" {
		return c.Store, nil
	}
	return alertdb.DefaultPath()
}

// Store opens the embedded store once; Close closes it.
func (f *Factory) Store(ctx context.Context) (*alertdb.Store, error) {
	if f.store != nil {
		return f.store, nil
	}
	path, err := f.StoreLocation()
	if err != nil {
		return nil, err
	}
	s, err := alertdb.Open(ctx, path, f.Logger())
	if err != nil {
		return nil, err
	}
	f.store = s
	return s, nil
}

// Logger returns the structured logger for diagnostics (stderr), never for
// command output.
func (f *Factory) Logger() *slog.Logger {
	if f.logger == nil {
		var level slog.Level
		if err := level.UnmarshalText([]byte(f.LogLevel)); err != nil || f.LogLevel == "" {
			level = slog.LevelWarn
		}
		f.logger = slog.New(slog.NewTextHandler(f.Err, &slog.HandlerOptions{Level: level}))
	}
	return f.logger
}

// IsTerminal reports whether w is a terminal (tables and progress bars are
// drawn only there).
func (f *Factory) IsTerminal(w io.Writer) bool {
	file, ok := w.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// Close releases what the factory opened.
func (f *Factory) Close() error {
	if f.store != nil {
		err := f.store.Close()
		f.store = nil
		return err
	}
	return nil
}

// UsageError is a mistake in the command line: exit code 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// FlagError returns a UsageError naming the flag and the value.
func FlagError(flag, value string, err error) error {
	return &UsageError{Err: fmt.Errorf("invalid --%s %q: %w", flag, value, err)}
}

// IsUsage reports whether err is a command-line mistake.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}
