package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// profileCmds builds the `lite profile` subcommands.
type profileCmds struct{ f *cli.Factory }

// NewCmdProfile returns `lite profile`.
func NewCmdProfile(f *cli.Factory) *cobra.Command {
	p := profileCmds{f}
	cmd := &cobra.Command{Use: "profile", Short: "Manage profiles", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(p.list(), p.create(), p.show(), p.copy(), p.rename(), p.delete(), p.get(), p.set(), p.unset(),
		p.edit(), p.add(), p.remove(), p.assign(), newCmdDevice(f, "profile", loadProfile))
	return cmd
}

// withClient runs fn with a client of the server the first argument names
// ([REMOTE:]PROFILE or [REMOTE:]INSTANCE), the remote taken off it.
func (p profileCmds) withClient(fn func(cmd *cobra.Command, c Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, args, err := connectFor(p.f, args)
		if err != nil {
			return err
		}
		return fn(cmd, c, args)
	}
}

// withProfile runs fn on the profile named by the first argument.
func (p profileCmds) withProfile(fn func(cmd *cobra.Command, t *target, args []string) error) func(*cobra.Command, []string) error {
	return p.withClient(func(cmd *cobra.Command, c Client, args []string) error {
		t, err := loadProfile(cmd.Context(), c, args[0])
		if err != nil {
			return err
		}
		return fn(cmd, t, args[1:])
	})
}

// withInstance runs fn on the instance named by the first argument, then saves it and
// prints the message fn returns.
func (p profileCmds) withInstance(fn func(t *target, args []string) (string, error)) func(*cobra.Command, []string) error {
	return p.withClient(func(cmd *cobra.Command, c Client, args []string) error {
		t, err := loadInstance(cmd.Context(), c, args[0])
		if err != nil {
			return err
		}
		msg, err := fn(t, args[1:])
		if err != nil {
			return err
		}
		if err := t.save(cmd.Context()); err != nil {
			return err
		}
		return p.say("%s", msg)
	})
}

func (p profileCmds) say(format string, a ...any) error {
	_, err := fmt.Fprintf(p.f.IO.Out, format+"\n", a...)
	return err
}

func (p profileCmds) list() *cobra.Command {
	var format output.Format
	cmd := &cobra.Command{Use: "list [REMOTE:]", Aliases: []string{"ls"}, Short: "List profiles", Args: cli.RangeArgs(0, 1),
		RunE: p.withClient(func(cmd *cobra.Command, c Client, args []string) error {
			if len(args) == 1 && args[0] != "" {
				return fmt.Errorf("%q is not a server: want REMOTE: or nothing: %w", args[0], api.ErrInvalid)
			}
			profiles, err := c.GetProfiles(cmd.Context())
			if err != nil {
				return err
			}
			if profiles == nil {
				profiles = []api.Profile{}
			}
			rows := [][]string{}
			for _, pr := range profiles {
				rows = append(rows, []string{pr.Name, pr.Description, strconv.Itoa(len(pr.UsedBy))})
			}
			return output.Print(p.f.IO.Out, format, output.Data{Header: []string{"NAME", "DESCRIPTION", "USED BY"}, Rows: rows, Raw: profiles})
		})}
	output.AddFormatFlag(cmd, &format)
	return cmd
}

func (p profileCmds) create() *cobra.Command {
	var description string
	cmd := &cobra.Command{Use: "create [REMOTE:]PROFILE", Short: "Create a profile", Args: cli.ExactArgs(1),
		RunE: p.withClient(func(cmd *cobra.Command, c Client, args []string) error {
			if err := c.CreateProfile(cmd.Context(), api.ProfilesPost{Name: args[0], ProfilePut: api.ProfilePut{Description: description}}); err != nil {
				return err
			}
			return p.say("Profile %s created", args[0])
		})}
	cmd.Flags().StringVar(&description, "description", "", "the profile's description")
	return cmd
}

func (p profileCmds) show() *cobra.Command {
	return &cobra.Command{Use: "show [REMOTE:]PROFILE", Short: "Show a profile as YAML", Args: cli.ExactArgs(1),
		RunE: p.withProfile(func(_ *cobra.Command, t *target, _ []string) error { return output.PrintYAML(p.f.IO.Out, t.prof) })}
}

func (p profileCmds) copy() *cobra.Command {
	return &cobra.Command{Use: "copy [REMOTE:]PROFILE NEW", Aliases: []string{"cp"}, Short: "Copy a profile", Args: cli.ExactArgs(2),
		RunE: p.withProfile(func(cmd *cobra.Command, t *target, args []string) error {
			return t.c.CreateProfile(cmd.Context(), api.ProfilesPost{Name: args[0], ProfilePut: t.prof.ProfilePut})
		})}
}

func (p profileCmds) rename() *cobra.Command {
	return &cobra.Command{Use: "rename [REMOTE:]PROFILE NEW", Aliases: []string{"mv"}, Short: "Rename a profile", Args: cli.ExactArgs(2),
		RunE: p.withClient(func(cmd *cobra.Command, c Client, args []string) error {
			if err := c.RenameProfile(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			return p.say("Profile %s renamed to %s", args[0], args[1])
		})}
}

func (p profileCmds) delete() *cobra.Command {
	return &cobra.Command{Use: "delete [REMOTE:]PROFILE...", Aliases: []string{"rm"}, Short: "Delete profiles", Args: cli.MinArgs(1),
		RunE: p.withClient(func(cmd *cobra.Command, c Client, args []string) error {
			for _, n := range args {
				if err := c.DeleteProfile(cmd.Context(), n); err != nil {
					return err
				}
				if err := p.say("Profile %s deleted", n); err != nil {
					return err
				}
			}
			return nil
		})}
}

func (p profileCmds) get() *cobra.Command {
	return &cobra.Command{Use: "get [REMOTE:]PROFILE KEY", Short: "Get a profile's config key", Args: cli.ExactArgs(2),
		RunE: p.withProfile(func(_ *cobra.Command, t *target, args []string) error { return p.say("%s", t.prof.Config[args[0]]) })}
}

func (p profileCmds) set() *cobra.Command {
	return &cobra.Command{Use: "set [REMOTE:]PROFILE KEY=VALUE...", Short: "Set config keys of a profile (applied to the instances using it)", Args: cli.MinArgs(2),
		RunE: p.withProfile(func(cmd *cobra.Command, t *target, args []string) error {
			kv, err := keyValues(args)
			if err != nil {
				return err
			}
			for k, v := range kv {
				t.prof.Config[k] = v
			}
			return t.save(cmd.Context())
		})}
}

func (p profileCmds) unset() *cobra.Command {
	return &cobra.Command{Use: "unset [REMOTE:]PROFILE KEY...", Short: "Unset config keys of a profile", Args: cli.MinArgs(2),
		RunE: p.withProfile(func(cmd *cobra.Command, t *target, args []string) error {
			for _, k := range args {
				if _, ok := t.prof.Config[k]; !ok {
					return fmt.Errorf("config key %q is not set on profile %s", k, t.name)
				}
				delete(t.prof.Config, k)
			}
			return t.save(cmd.Context())
		})}
}

func (p profileCmds) edit() *cobra.Command {
	return &cobra.Command{Use: "edit [REMOTE:]PROFILE", Short: "Edit a profile as YAML ($EDITOR, or stdin when it is not a terminal)", Args: cli.ExactArgs(1),
		RunE: p.withProfile(func(cmd *cobra.Command, t *target, _ []string) error {
			var put api.ProfilePut
			if err := edit(p.f.IO, t.prof.ProfilePut, &put); err != nil {
				return err
			}
			t.prof.ProfilePut = put
			return t.save(cmd.Context())
		})}
}

func (p profileCmds) add() *cobra.Command {
	return &cobra.Command{Use: "add [REMOTE:]INSTANCE PROFILE", Short: "Add a profile to an instance", Args: cli.ExactArgs(2),
		RunE: p.withInstance(func(t *target, args []string) (string, error) {
			if slices.Contains(t.inst.Profiles, args[0]) {
				return "", fmt.Errorf("profile %s is already applied to %s", args[0], t.name)
			}
			t.inst.Profiles = append(t.inst.Profiles, args[0])
			return fmt.Sprintf("Profile %s added to %s", args[0], t.name), nil
		})}
}

func (p profileCmds) remove() *cobra.Command {
	return &cobra.Command{Use: "remove [REMOTE:]INSTANCE PROFILE", Short: "Remove a profile from an instance", Args: cli.ExactArgs(2),
		RunE: p.withInstance(func(t *target, args []string) (string, error) {
			i := slices.Index(t.inst.Profiles, args[0])
			if i < 0 {
				return "", fmt.Errorf("profile %s isn't currently applied to %s", args[0], t.name)
			}
			t.inst.Profiles = slices.Delete(t.inst.Profiles, i, i+1)
			return fmt.Sprintf("Profile %s removed from %s", args[0], t.name), nil
		})}
}

func (p profileCmds) assign() *cobra.Command {
	return &cobra.Command{Use: "assign [REMOTE:]INSTANCE PROFILES", Aliases: []string{"apply"}, Short: "Set an instance's profiles (comma-separated; \"\" for none)", Args: cli.ExactArgs(2),
		RunE: p.withInstance(func(t *target, args []string) (string, error) {
			if args[0] == "" {
				t.inst.Profiles = []string{}
				return fmt.Sprintf("Profiles removed from %s", t.name), nil
			}
			t.inst.Profiles = strings.Split(args[0], ",")
			return fmt.Sprintf("Profiles %s applied to %s", args[0], t.name), nil
		})}
}
