package enforcecmd

import (
	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// Register adds the back-end flags to another command (rampart agent takes
// the same --backend, --hosts-deny... flags as enforce apply).
func (b *BackendFlags) Register(cmd *cobra.Command) { b.register(cmd) }

// Open builds the selected back ends.
func (b *BackendFlags) Open() ([]enforce.Enforcer, error) { return b.open() }
