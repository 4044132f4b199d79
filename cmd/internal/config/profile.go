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

// NewCmdProfile returns `lite profile`.
func NewCmdProfile(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "Manage profiles", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	withClient := func(fn func(cmd *cobra.Command, c Client, args []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c, err := connect(f)
			if err != nil {
				return err
			}
			return fn(cmd, c, args)
		}
	}
	withProfile := func(fn func(cmd *cobra.Command, t *target, args []string) error) func(*cobra.Command, []string) error {
		return withClient(func(cmd *cobra.Command, c Client, args []string) error {
			t, err := loadProfile(c, args[0])
			if err != nil {
				return err
			}
			return fn(cmd, t, args[1:])
		})
	}
	say := func(format string, a ...any) error {
		_, err := fmt.Fprintf(f.IO.Out, format+"\n", a...)
		return err
	}

	var format output.Format
	list := &cobra.Command{Use: "list", Aliases: []string{"ls"}, Short: "List profiles", Args: cli.ExactArgs(0),
		RunE: withClient(func(_ *cobra.Command, c Client, _ []string) error {
			profiles, err := c.GetProfiles()
			if err != nil {
				return err
			}
			if profiles == nil {
				profiles = []api.Profile{}
			}
			rows := [][]string{}
			for _, p := range profiles {
				rows = append(rows, []string{p.Name, p.Description, strconv.Itoa(len(p.UsedBy))})
			}
			return output.Print(f.IO.Out, format, output.Data{Header: []string{"NAME", "DESCRIPTION", "USED BY"}, Rows: rows, Raw: profiles})
		})}
	output.AddFormatFlag(list, &format)

	var description string
	create := &cobra.Command{Use: "create PROFILE", Short: "Create a profile", Args: cli.ExactArgs(1),
		RunE: withClient(func(_ *cobra.Command, c Client, args []string) error {
			if err := c.CreateProfile(api.ProfilesPost{Name: args[0], ProfilePut: api.ProfilePut{Description: description}}); err != nil {
				return err
			}
			return say("Profile %s created", args[0])
		})}
	create.Flags().StringVar(&description, "description", "", "the profile's description")

	cmd.AddCommand(list, create,
		&cobra.Command{Use: "show PROFILE", Short: "Show a profile as YAML", Args: cli.ExactArgs(1),
			RunE: withProfile(func(_ *cobra.Command, t *target, _ []string) error { return output.PrintYAML(f.IO.Out, t.prof) })},
		&cobra.Command{Use: "copy PROFILE NEW", Aliases: []string{"cp"}, Short: "Copy a profile", Args: cli.ExactArgs(2),
			RunE: withProfile(func(_ *cobra.Command, t *target, args []string) error {
				return t.c.CreateProfile(api.ProfilesPost{Name: args[0], ProfilePut: t.prof.ProfilePut})
			})},
		&cobra.Command{Use: "rename PROFILE NEW", Aliases: []string{"mv"}, Short: "Rename a profile", Args: cli.ExactArgs(2),
			RunE: withClient(func(_ *cobra.Command, c Client, args []string) error {
				if err := c.RenameProfile(args[0], args[1]); err != nil {
					return err
				}
				return say("Profile %s renamed to %s", args[0], args[1])
			})},
		&cobra.Command{Use: "delete PROFILE...", Aliases: []string{"rm"}, Short: "Delete profiles", Args: cli.MinArgs(1),
			RunE: withClient(func(_ *cobra.Command, c Client, args []string) error {
				for _, n := range args {
					if err := c.DeleteProfile(n); err != nil {
						return err
					}
					if err := say("Profile %s deleted", n); err != nil {
						return err
					}
				}
				return nil
			})},
		&cobra.Command{Use: "get PROFILE KEY", Short: "Get a profile's config key", Args: cli.ExactArgs(2),
			RunE: withProfile(func(_ *cobra.Command, t *target, args []string) error { return say("%s", t.prof.Config[args[0]]) })},
		&cobra.Command{Use: "set PROFILE KEY=VALUE...", Short: "Set config keys of a profile (applied to the instances using it)", Args: cli.MinArgs(2),
			RunE: withProfile(func(cmd *cobra.Command, t *target, args []string) error {
				kv, err := keyValues(args)
				if err != nil {
					return err
				}
				for k, v := range kv {
					t.prof.Config[k] = v
				}
				return t.save(cmd.Context())
			})},
		&cobra.Command{Use: "unset PROFILE KEY...", Short: "Unset config keys of a profile", Args: cli.MinArgs(2),
			RunE: withProfile(func(cmd *cobra.Command, t *target, args []string) error {
				for _, k := range args {
					if _, ok := t.prof.Config[k]; !ok {
						return fmt.Errorf("config key %q is not set on profile %s", k, t.name)
					}
					delete(t.prof.Config, k)
				}
				return t.save(cmd.Context())
			})},
		&cobra.Command{Use: "edit PROFILE", Short: "Edit a profile as YAML ($EDITOR, or stdin when it is not a terminal)", Args: cli.ExactArgs(1),
			RunE: withProfile(func(cmd *cobra.Command, t *target, _ []string) error {
				var put api.ProfilePut
				if err := edit(f.IO, t.prof.ProfilePut, &put); err != nil {
					return err
				}
				t.prof.ProfilePut = put
				return t.save(cmd.Context())
			})},
		&cobra.Command{Use: "add INSTANCE PROFILE", Short: "Add a profile to an instance", Args: cli.ExactArgs(2),
			RunE: withClient(func(cmd *cobra.Command, c Client, args []string) error {
				t, err := loadInstance(c, args[0])
				if err != nil {
					return err
				}
				if slices.Contains(t.inst.Profiles, args[1]) {
					return fmt.Errorf("profile %s is already applied to %s", args[1], args[0])
				}
				t.inst.Profiles = append(t.inst.Profiles, args[1])
				if err := t.save(cmd.Context()); err != nil {
					return err
				}
				return say("Profile %s added to %s", args[1], args[0])
			})},
		&cobra.Command{Use: "remove INSTANCE PROFILE", Short: "Remove a profile from an instance", Args: cli.ExactArgs(2),
			RunE: withClient(func(cmd *cobra.Command, c Client, args []string) error {
				t, err := loadInstance(c, args[0])
				if err != nil {
					return err
				}
				i := slices.Index(t.inst.Profiles, args[1])
				if i < 0 {
					return fmt.Errorf("profile %s isn't currently applied to %s", args[1], args[0])
				}
				t.inst.Profiles = slices.Delete(t.inst.Profiles, i, i+1)
				if err := t.save(cmd.Context()); err != nil {
					return err
				}
				return say("Profile %s removed from %s", args[1], args[0])
			})},
		&cobra.Command{Use: "assign INSTANCE PROFILES", Aliases: []string{"apply"}, Short: "Set an instance's profiles (comma-separated; \"\" for none)", Args: cli.ExactArgs(2),
			RunE: withClient(func(cmd *cobra.Command, c Client, args []string) error {
				t, err := loadInstance(c, args[0])
				if err != nil {
					return err
				}
				t.inst.Profiles = []string{}
				if args[1] != "" {
					t.inst.Profiles = strings.Split(args[1], ",")
				}
				if err := t.save(cmd.Context()); err != nil {
					return err
				}
				if args[1] == "" {
					return say("Profiles removed from %s", args[0])
				}
				return say("Profiles %s applied to %s", args[1], args[0])
			})},
		newCmdDevice(f, "profile", loadProfile),
	)
	return cmd
}
