package abusecmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/abuse/mail"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
)

// SendOptions are abuse send's flags.
type SendOptions struct {
	DryRun bool
}

func newSend(f *cmdutil.Factory) *cobra.Command {
	opts := &SendOptions{}
	cmd := &cobra.Command{
		Use:   "send [N...]",
		Short: "Mail approved abuse report drafts",
		Long: `Mail drafts N (every approved draft when none is named) through the relay of
[abuse.smtp]. Only approved drafts are sent. An address already reported to
the same abuse mailbox within abuse.repeat_window is held back from the
message and said so; a draft whose every address is held waits. Each
attempt is recorded with its message id, time and outcome; a draft the
relay refused stays approved, to be sent again.

--dry-run prints each message exactly as it would go (its envelope on
stderr) and sends nothing.`,
		Example: `  rampart abuse send --dry-run
  rampart abuse send
  rampart abuse send 3 4`,
		RunE: func(cmd *cobra.Command, args []string) error { return runSend(cmd.Context(), f, opts, args) },
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the messages, send nothing")
	return cmd
}

func runSend(ctx context.Context, f *cmdutil.Factory, opts *SendOptions, args []string) error {
	ids, err := draftIDs(args)
	if err != nil {
		return err
	}
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	if cfg.Abuse.From == "" {
		return fmt.Errorf("config %s: abuse.from is not set: reports need a sender address", configPath(f))
	}
	store, err := f.Store(ctx)
	if err != nil {
		return err
	}
	sender, err := mail.New(store, mail.Options{Abuse: cfg.Abuse, Getenv: f.Getenv, Now: f.Now, Logger: f.Logger()})
	if err != nil {
		return err
	}
	results, err := sender.Send(ctx, ids, opts.DryRun)
	if len(results) == 0 && err == nil {
		fmt.Fprintln(f.Err, "no approved drafts to send")
		return nil
	}
	notSent := 0
	for i, r := range results {
		for _, h := range r.Held {
			by := "earlier in this run"
			if h.Draft != 0 {
				by = fmt.Sprintf("by draft %d", h.Draft)
			}
			fmt.Fprintf(f.Err, "draft %d: %s held back: reported to %s on %s %s, within the repeat window (%s)\n",
				r.Draft, h.Addr, h.Email, h.Reported.Format("2006-01-02 15:04:05 UTC"), by, days(cfg.Abuse.RepeatWindow))
		}
		switch r.Status {
		case mail.StatusDryRun:
			fmt.Fprintf(f.Err, "draft %d (dry run): MAIL FROM:<%s> RCPT TO:<%s>: %s\n", r.Draft, r.From,
				strings.Join(r.To, ">,<"), plural(len(r.Addrs), "address", "addresses"))
			if i > 0 {
				fmt.Fprintln(f.Out)
			}
			if _, err := f.Out.Write(r.Message); err != nil {
				return err
			}
		case mail.StatusSent:
			fmt.Fprintf(f.Out, "draft %d: sent to %s as %s (%s)\n", r.Draft, strings.Join(r.To, ", "), r.MessageID,
				plural(len(r.Addrs), "address", "addresses"))
		case mail.StatusHeld:
			fmt.Fprintf(f.Err, "draft %d: not sent: %v; it stays approved\n", r.Draft, r.Err)
		case mail.StatusFailed:
			notSent++
			fmt.Fprintf(f.Err, "draft %d: not sent: %v; it stays approved, send it again later\n", r.Draft, r.Err)
		default:
			notSent++
			fmt.Fprintf(f.Err, "draft %d: refused: %v\n", r.Draft, r.Err)
		}
	}
	if err != nil {
		return err
	}
	if notSent > 0 {
		return fmt.Errorf("%d of %d drafts not sent", notSent, len(results))
	}
	return nil
}

// days writes a window the way the config does: "7d", or "36h0m0s".
func days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
