package snapshot

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
)

// NewCmdCopy returns `lite copy SRC[/SNAP] DST [--instance-only]`.
func NewCmdCopy(f *cli.Factory) *cobra.Command {
	var instanceOnly bool
	cmd := &cobra.Command{
		Use:     "copy [REMOTE:]SOURCE[/SNAPSHOT] [REMOTE:]DESTINATION",
		Aliases: []string{"cp"},
		Short:   "Copy an instance, or make an instance from a snapshot",
		Long: "Copy an instance (running ones are frozen while their files are copied) with its\n" +
			"snapshots, or make a new instance from a snapshot. The copy is stopped, with a new MAC and uuid.",
		Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if isRemoteTransfer(f, args[0], args[1]) {
				t := newTransfer(f, args[0], args[1])
				t.instanceOnly = instanceOnly
				return t.run(cmd.Context(), f.IO)
			}
			c, err := connect(f)
			if err != nil {
				return err
			}
			if strings.Contains(args[1], "/") {
				return fmt.Errorf("the destination %q must be an instance name", args[1])
			}
			if _, snap, ok := strings.Cut(args[0], "/"); ok {
				if err := checkSnapName(args[0], snap); err != nil {
					return err
				}
			}
			req := api.InstancesPost{
				Name:   args[1],
				Source: api.InstanceSource{Type: "copy", Source: args[0], InstanceOnly: instanceOnly},
			}
			op, err := c.CopyInstance(ctx, req)
			_, err = wait(cmd.Context(), f, op, err)
			return err
		},
	}
	cmd.Flags().BoolVar(&instanceOnly, "instance-only", false, "copy the instance without its snapshots")
	return cmd
}
