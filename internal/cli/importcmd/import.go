// Package importcmd is "rampart import": copy alerts from files and ossec-dbd
// databases into the store. Imports are idempotent (an alert is stored once
// however often it is imported, from whichever copy) and resumable (an
// interrupted import goes on from its last commit).
package importcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"
	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ingest"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

// Options are import's flags.
type Options struct {
	Sources  []string
	Progress string
	Follow   bool
	Poll     time.Duration
}

// New returns the import command.
func New(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "import SOURCE...",
		Short: "Import alerts into the store",
		Long: `Import alerts into the store from alert files (alerts.log or alerts.json,
plain or .gz, or an OSSEC logs/alerts directory) and ossec-dbd databases
(mysql://user:pass@host:3306/ossec, postgres://...).

Importing the same alerts twice stores them once. An interrupted import
(Ctrl-C, kill) resumes from its last commit when run again.

With --follow, import one source and keep importing what is added to it
until stopped: a file across OSSEC's nightly rotation and truncation, or a
database by new row ids. New alerts are committed within a second. Started
again, it resumes after the last committed alert, catching up on day files
rotated while it was down.`,
		Example: `  rampart import /var/ossec/logs/alerts
  rampart import /var/ossec/logs/alerts/alerts.log
  rampart import mysql://ossec:secret@127.0.0.1:3306/ossec
  rampart import --follow /var/ossec/logs/alerts/alerts.log`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Sources = args
			return run(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Progress, "progress", "auto", "progress bar: auto (on a terminal), always or never")
	cmd.Flags().BoolVar(&opts.Follow, "follow", false, "keep importing new alerts of one file or database until stopped")
	cmd.Flags().DurationVar(&opts.Poll, "poll", 0, "with --follow: how often to look for new alerts (default 250ms for files, 5s for databases)")
	return cmd
}

func isDSN(s string) bool {
	for _, p := range []string{"mysql://", "mariadb://", "postgres://", "postgresql://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func run(ctx context.Context, f *cmdutil.Factory, opts *Options) error {
	var bar bool
	switch opts.Progress {
	case "auto":
		bar = f.IsTerminal(f.Err)
	case "always":
		bar = true
	case "never":
	default:
		return cmdutil.FlagError("progress", opts.Progress, errors.New("want auto, always or never"))
	}
	var files, dsns []string
	for _, s := range opts.Sources {
		if isDSN(s) {
			if _, err := ossecdb.ParseDSN(s); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			dsns = append(dsns, s)
		} else {
			files = append(files, s)
		}
	}
	if opts.Follow {
		if len(opts.Sources) != 1 {
			return &cmdutil.UsageError{Err: errors.New("--follow takes exactly one source")}
		}
		return follow(ctx, f, opts, len(dsns) == 1)
	}
	paths, err := ingest.Expand(files)
	if err != nil {
		return err
	}
	store, err := f.Store(ctx)
	if err != nil {
		return err
	}
	problems := cmdutil.NewProblemPrinter(f.Err, 10)
	im := &ingest.Importer{Store: store, Problems: problems.Report, Now: f.Now}
	var total ingest.Progress
	start := f.Now()
	show := func(res ingest.Result) {
		total.Read += res.Read
		total.Added += res.Added
		total.Duplicates += res.Duplicates
		total.Malformed += res.Malformed
		summary(f.Err, res)
	}
	for _, p := range paths {
		var pw progress.Writer
		var tracker *progress.Tracker
		if bar {
			pw, tracker = startBar(f.Err, p)
			im.Progress = func(pr ingest.Progress) {
				tracker.UpdateTotal(pr.Total)
				tracker.SetValue(pr.Done)
				tracker.UpdateMessage(fmt.Sprintf("%s: %d alerts, %s", filepath.Base(p), pr.Read, rate(pr.Read, pr.Elapsed)))
			}
		}
		res, err := im.ImportFile(ctx, p)
		if bar {
			tracker.MarkAsDone()
			pw.Stop()
			for pw.IsRenderInProgress() {
				time.Sleep(10 * time.Millisecond)
			}
		}
		if err != nil {
			if res.Read > 0 {
				summary(f.Err, res)
			}
			return interrupted(err, p)
		}
		show(res)
	}
	im.Progress = nil
	for _, dsn := range dsns {
		db, err := ossecdb.Open(ctx, dsn)
		if err != nil {
			return err
		}
		res, err := im.ImportDB(ctx, db, db.String())
		db.Close()
		if err != nil {
			if res.Read > 0 {
				summary(f.Err, res)
			}
			return interrupted(err, db.String())
		}
		show(res)
	}
	problems.Summary()
	if len(paths)+len(dsns) > 1 {
		fmt.Fprintf(f.Err, "total: %d alerts read, %d added, %d already stored, %d malformed in %s\n",
			total.Read, total.Added, total.Duplicates, total.Malformed, f.Now().Sub(start).Round(time.Millisecond))
	}
	return nil
}

// follow imports one source live until the context ends (SIGINT, SIGTERM),
// which is its normal way to stop: it commits what it has and exits 0.
func follow(ctx context.Context, f *cmdutil.Factory, opts *Options, isDB bool) error {
	store, err := f.Store(ctx)
	if err != nil {
		return err
	}
	problems := cmdutil.NewProblemPrinter(f.Err, 10)
	im := &ingest.Importer{Store: store, Problems: problems.Report, Now: f.Now}
	fo := ingest.FollowOptions{Poll: opts.Poll, Logger: f.Logger()}
	src := opts.Sources[0]
	fmt.Fprintf(f.Err, "following %s (stop with Ctrl-C or SIGTERM)\n", src)
	var res ingest.Result
	if isDB {
		db, err := ossecdb.Open(ctx, src)
		if err != nil {
			return err
		}
		defer db.Close()
		res, err = im.FollowDB(ctx, db, db.String(), fo)
		if err != nil {
			return err
		}
	} else if res, err = im.FollowFile(ctx, src, fo); err != nil {
		return err
	}
	res.Malformed = problems.Count()
	problems.Summary()
	summary(f.Err, res)
	return nil
}

func interrupted(err error, source string) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("import %s interrupted; run the same import again to resume: %w", source, err)
	}
	return err
}

func summary(w io.Writer, r ingest.Result) {
	resumed := ""
	if r.Resumed {
		resumed = " (resumed)"
	}
	fmt.Fprintf(w, "%s%s: %d alerts read, %d added, %d already stored, %d malformed in %s (%s)\n",
		r.Source, resumed, r.Read, r.Added, r.Duplicates, r.Malformed, r.Elapsed.Round(time.Millisecond), rate(r.Read, r.Elapsed))
	if r.Pending > 0 {
		fmt.Fprintf(w, "%s: the last alert (%d bytes) is still being written; the next import reads it\n", r.Source, r.Pending)
	}
}

func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "- alerts/s"
	}
	return fmt.Sprintf("%.0f alerts/s", float64(n)/d.Seconds())
}

func startBar(w io.Writer, name string) (progress.Writer, *progress.Tracker) {
	pw := progress.NewWriter()
	pw.SetOutputWriter(w)
	pw.SetAutoStop(false)
	pw.SetUpdateFrequency(100 * time.Millisecond)
	pw.SetTrackerLength(30)
	pw.SetMessageLength(56)
	pw.SetStyle(progress.StyleDefault)
	pw.Style().Visibility.ETA = true
	pw.Style().Visibility.Speed = false
	pw.Style().Visibility.Value = true
	tracker := &progress.Tracker{Message: name, Units: progress.UnitsBytes}
	pw.AppendTracker(tracker)
	go pw.Render()
	return pw, tracker
}
