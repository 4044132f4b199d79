package config

import (
	"context"
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
	subs := []*cobra.Command{NewCmdProfileList(f, nil), NewCmdProfileCreate(f, nil)}
	for _, verb := range []string{"show", "copy", "rename", "delete", "get", "set", "unset", "edit", "add", "remove", "assign"} {
		subs = append(subs, NewCmdProfileVerb(f, verb, nil))
	}
	return group("profile", "Manage profiles", append(subs, NewCmdDevice(f, Profile))...)
}

// ProfileListOptions are the inputs of lite profile list.
type ProfileListOptions struct {
	base   // Name is unused: it lists a server
	Format output.Format
}

// NewCmdProfileList returns `lite profile list [REMOTE:]`; runF replaces RunProfileList in
// tests.
func NewCmdProfileList(f *cli.Factory, runF func(context.Context, *ProfileListOptions) error) *cobra.Command {
	opts := &ProfileListOptions{}
	cmd := newCmd(f, &opts.base, runner(runF, RunProfileList, opts),
		&cobra.Command{Use: "list [REMOTE:]", Aliases: []string{"ls"}, Short: "List profiles", Args: cli.RangeArgs(0, 1)},
		func([]string) error { return onlyServer(opts.Name) })
	output.AddFormatFlag(cmd, &opts.Format)
	return cmd
}

// RunProfileList prints the server's profiles.
func RunProfileList(ctx context.Context, opts *ProfileListOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	profiles, err := c.GetProfiles(ctx)
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
	return output.Print(opts.IO.Out, opts.Format, output.Data{Header: []string{"NAME", "DESCRIPTION", "USED BY"}, Rows: rows, Raw: profiles})
}

// ProfileCreateOptions are the inputs of lite profile create.
type ProfileCreateOptions struct {
	base        // Name is the new profile
	Description string
}

// NewCmdProfileCreate returns `lite profile create [REMOTE:]PROFILE`; runF replaces
// RunProfileCreate in tests.
func NewCmdProfileCreate(f *cli.Factory, runF func(context.Context, *ProfileCreateOptions) error) *cobra.Command {
	opts := &ProfileCreateOptions{}
	cmd := newCmd(f, &opts.base, runner(runF, RunProfileCreate, opts),
		&cobra.Command{Use: "create [REMOTE:]PROFILE", Short: "Create a profile", Args: cli.ExactArgs(1)}, nil)
	cmd.Flags().StringVar(&opts.Description, "description", "", "the profile's description")
	return cmd
}

// RunProfileCreate creates an empty profile.
func RunProfileCreate(ctx context.Context, opts *ProfileCreateOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := c.CreateProfile(ctx, api.ProfilesPost{Name: opts.Name, ProfilePut: api.ProfilePut{Description: opts.Description}}); err != nil {
		return err
	}
	return opts.say("Profile %s created", opts.Name)
}

// ProfileOptions are the inputs of the other lite profile commands.
type ProfileOptions struct {
	base          // Name is the profile (for add, remove and assign: the instance)
	Args []string // the arguments after it
}

// profileCmd is a lite profile subcommand: its usage, its argument count and its work.
type profileCmd struct {
	use, short string
	aliases    []string
	min, max   int // max -1: no bound
	run        func(context.Context, *ProfileOptions) error
}

var profileCmds = map[string]profileCmd{
	"show":   {"show [REMOTE:]PROFILE", "Show a profile as YAML", nil, 1, 1, RunProfileShow},
	"copy":   {"copy [REMOTE:]PROFILE NEW", "Copy a profile", []string{"cp"}, 2, 2, RunProfileCopy},
	"rename": {"rename [REMOTE:]PROFILE NEW", "Rename a profile", []string{"mv"}, 2, 2, RunProfileRename},
	"delete": {"delete [REMOTE:]PROFILE...", "Delete profiles", []string{"rm"}, 1, -1, RunProfileDelete},
	"get":    {"get [REMOTE:]PROFILE KEY", "Get a profile's config key", nil, 2, 2, RunProfileGet},
	"set":    {"set [REMOTE:]PROFILE KEY=VALUE...", "Set config keys of a profile (applied to the instances using it)", nil, 2, -1, RunProfileSet},
	"unset":  {"unset [REMOTE:]PROFILE KEY...", "Unset config keys of a profile", nil, 2, -1, RunProfileUnset},
	"edit":   {"edit [REMOTE:]PROFILE", "Edit a profile as YAML ($EDITOR, or stdin when it is not a terminal)", nil, 1, 1, RunProfileEdit},
	"add":    {"add [REMOTE:]INSTANCE PROFILE", "Add a profile to an instance", nil, 2, 2, RunProfileAdd},
	"remove": {"remove [REMOTE:]INSTANCE PROFILE", "Remove a profile from an instance", nil, 2, 2, RunProfileRemove},
	"assign": {"assign [REMOTE:]INSTANCE PROFILES", "Set an instance's profiles (comma-separated; \"\" for none)", []string{"apply"}, 2, 2, RunProfileAssign},
}

// NewCmdProfileVerb returns `lite profile VERB ...` for verb show, copy, rename, delete, get,
// set, unset, edit, add, remove or assign; runF replaces its RunProfileVerb in tests.
func NewCmdProfileVerb(f *cli.Factory, verb string, runF func(context.Context, *ProfileOptions) error) *cobra.Command {
	p := profileCmds[verb]
	opts := &ProfileOptions{}
	return newCmd(f, &opts.base, runner(runF, p.run, opts),
		&cobra.Command{Use: p.use, Short: p.short, Aliases: p.aliases, Args: cli.RangeArgs(p.min, p.max)},
		func(args []string) error {
			opts.Args = args[1:]
			if verb != "delete" {
				return nil
			}
			// Every profile to delete is on the first one's server.
			names, err := f.SameServer(args)
			if err == nil {
				opts.Args = names[1:]
			}
			return err
		})
}

// RunProfileShow prints the profile as YAML.
func RunProfileShow(ctx context.Context, opts *ProfileOptions) error {
	t, err := opts.load(ctx, Profile)
	if err != nil {
		return err
	}
	return output.PrintYAML(opts.IO.Out, t.prof)
}

// RunProfileCopy creates profile Args[0] on the same server with the profile's config and
// devices.
func RunProfileCopy(ctx context.Context, opts *ProfileOptions) error {
	t, err := opts.load(ctx, Profile)
	if err != nil {
		return err
	}
	return t.c.CreateProfile(ctx, api.ProfilesPost{Name: opts.Args[0], ProfilePut: t.prof.ProfilePut})
}

// RunProfileRename renames the profile to Args[0].
func RunProfileRename(ctx context.Context, opts *ProfileOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := c.RenameProfile(ctx, opts.Name, opts.Args[0]); err != nil {
		return err
	}
	return opts.say("Profile %s renamed to %s", opts.Name, opts.Args[0])
}

// RunProfileDelete deletes the profile and those Args names, in order, stopping at the first
// error.
func RunProfileDelete(ctx context.Context, opts *ProfileOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	for _, n := range append([]string{opts.Name}, opts.Args...) {
		if err := c.DeleteProfile(ctx, n); err != nil {
			return err
		}
		if err := opts.say("Profile %s deleted", n); err != nil {
			return err
		}
	}
	return nil
}

// RunProfileGet prints the profile's config key Args[0].
func RunProfileGet(ctx context.Context, opts *ProfileOptions) error {
	t, err := opts.load(ctx, Profile)
	if err != nil {
		return err
	}
	return opts.say("%s", t.prof.Config[opts.Args[0]])
}

// RunProfileSet sets the profile's config keys (KEY=VALUE... or KEY VALUE).
func RunProfileSet(ctx context.Context, opts *ProfileOptions) error {
	t, err := opts.load(ctx, Profile)
	if err != nil {
		return err
	}
	if err := setKeys(t.prof.Config, opts.Args, nil, nil); err != nil {
		return err
	}
	return t.save(ctx)
}

// RunProfileUnset removes the profile's config keys, each of which must be set.
func RunProfileUnset(ctx context.Context, opts *ProfileOptions) error {
	t, err := opts.load(ctx, Profile)
	if err != nil {
		return err
	}
	for _, k := range opts.Args {
		if _, ok := t.prof.Config[k]; !ok {
			return fmt.Errorf("config key %q is not set on profile %s", k, t.name)
		}
		delete(t.prof.Config, k)
	}
	return t.save(ctx)
}

// RunProfileEdit replaces the profile's writable part with the user's edit of it.
func RunProfileEdit(ctx context.Context, opts *ProfileOptions) error {
	t, err := opts.load(ctx, Profile)
	if err != nil {
		return err
	}
	return t.editAndSave(ctx)
}

// RunProfileAdd appends profile Args[0] to the instance's profiles.
func RunProfileAdd(ctx context.Context, opts *ProfileOptions) error {
	return changeProfiles(ctx, opts, func(t *target, prof string) (string, error) {
		if slices.Contains(t.inst.Profiles, prof) {
			return "", fmt.Errorf("profile %s is already applied to %s", prof, t.name)
		}
		t.inst.Profiles = append(t.inst.Profiles, prof)
		return fmt.Sprintf("Profile %s added to %s", prof, t.name), nil
	})
}

// RunProfileRemove takes profile Args[0] off the instance's profiles.
func RunProfileRemove(ctx context.Context, opts *ProfileOptions) error {
	return changeProfiles(ctx, opts, func(t *target, prof string) (string, error) {
		i := slices.Index(t.inst.Profiles, prof)
		if i < 0 {
			return "", fmt.Errorf("profile %s isn't currently applied to %s", prof, t.name)
		}
		t.inst.Profiles = slices.Delete(t.inst.Profiles, i, i+1)
		return fmt.Sprintf("Profile %s removed from %s", prof, t.name), nil
	})
}

// RunProfileAssign sets the instance's profiles to the comma-separated list Args[0] ("" for
// none).
func RunProfileAssign(ctx context.Context, opts *ProfileOptions) error {
	return changeProfiles(ctx, opts, func(t *target, list string) (string, error) {
		if list == "" {
			t.inst.Profiles = []string{}
			return fmt.Sprintf("Profiles removed from %s", t.name), nil
		}
		t.inst.Profiles = strings.Split(list, ",")
		return fmt.Sprintf("Profiles %s applied to %s", list, t.name), nil
	})
}

// changeProfiles loads the instance, lets change edit its profiles with Args[0], saves it
// and prints the message change returns.
func changeProfiles(ctx context.Context, opts *ProfileOptions, change func(t *target, arg string) (string, error)) error {
	t, err := opts.load(ctx, Instance)
	if err != nil {
		return err
	}
	msg, err := change(t, opts.Args[0])
	if err != nil {
		return err
	}
	if err := t.save(ctx); err != nil {
		return err
	}
	return opts.say("%s", msg)
}
