package abusecmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
)

func newEdit(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "edit N",
		Short: "Edit the text of an abuse report draft",
		Long: `Open the text of draft N in $VISUAL or $EDITOR (vi when neither is set) and
keep what is saved. An edited draft is marked so; an approved one goes back
to draft and needs approving again. The X-ARF reports are not edited.`,
		Example: `  rampart abuse edit 3
  EDITOR=nano rampart abuse edit 3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runEdit(cmd.Context(), f, args[0]) },
	}
}

func runEdit(ctx context.Context, f *cmdutil.Factory, arg string) error {
	ids, err := draftIDs([]string{arg})
	if err != nil {
		return err
	}
	store, err := f.Store(ctx)
	if err != nil {
		return err
	}
	d, err := store.AbuseDraft(ctx, ids[0])
	if err != nil {
		return err
	}
	if d.State != alertdb.AbuseDraftDraft && d.State != alertdb.AbuseDraftApproved {
		return &alertdb.AbuseStateError{ID: d.ID, State: d.State, Op: "edit"}
	}
	file, err := os.CreateTemp("", fmt.Sprintf("rampart-abuse-%d-*.txt", d.ID))
	if err != nil {
		return fmt.Errorf("edit draft %d: %w", d.ID, err)
	}
	path := file.Name()
	defer os.Remove(path)
	_, err = file.WriteString(d.Text)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("edit draft %d: %w", d.ID, err)
	}
	editor := cmp.Or(f.Getenv("VISUAL"), f.Getenv("EDITOR"), "vi")
	// As git does: the editor variable may hold arguments ("code -w").
	c := exec.CommandContext(ctx, "/bin/sh", "-c", editor+` "$1"`, "sh", path)
	c.Stdin, c.Stdout, c.Stderr = f.In, f.Out, f.Err
	if err := c.Run(); err != nil {
		return fmt.Errorf("edit draft %d: editor %q: %w (the draft is unchanged)", d.ID, editor, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("edit draft %d: %w", d.ID, err)
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	switch {
	case strings.TrimSpace(text) == "":
		return errors.New("the edited text is empty: the draft is unchanged")
	case text == d.Text:
		fmt.Fprintf(f.Err, "draft %d: no change\n", d.ID)
		return nil
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	e, err := store.EditAbuseDraft(ctx, d.ID, text, f.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(f.Out, "draft %d edited\n", e.ID)
	if d.State == alertdb.AbuseDraftApproved {
		fmt.Fprintf(f.Err, "draft %d is a draft again: approve it as it now reads (rampart abuse approve %d)\n", e.ID, e.ID)
	}
	return nil
}
