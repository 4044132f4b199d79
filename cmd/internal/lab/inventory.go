package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
	labfile "lite/profiles/lab"
)

// hostOf is the address the host reaches a node on: eth0's, else the first by interface.
func hostOf(n api.LabNode) string {
	if a := n.Addresses["eth0"]; a != "" {
		return a
	}
	ifaces := make([]string, 0, len(n.Addresses))
	for i := range n.Addresses {
		ifaces = append(ifaces, i)
	}
	sort.Strings(ifaces)
	if len(ifaces) == 0 {
		return ""
	}
	return n.Addresses[ifaces[0]]
}

// privateKey is the private half of the lab file's first ssh key, when it sits beside it.
// Without one, ssh uses the user's own keys, which lite installs by default.
func privateKey(opts *Options) string {
	l, err := labfile.Load(opts.File)
	if err != nil || len(l.Nodes) == 0 || len(l.Nodes[0].SSHKeys) == 0 {
		return ""
	}
	k := expandHome(l.Nodes[0].SSHKeys[0], invokingHome(), filepath.Dir(opts.File))
	priv := strings.TrimSuffix(k, ".pub")
	if st, err := os.Stat(priv); err == nil && st.Mode().IsRegular() && priv != k {
		return priv
	}
	return ""
}

func (o *Options) lab(ctx context.Context, args []string) (*api.Lab, error) {
	name, err := labName(o, args)
	if err != nil {
		return nil, err
	}
	c, err := o.Client()
	if err != nil {
		return nil, err
	}
	return c.GetLab(ctx, name)
}

// RunInventory prints an Ansible inventory of the lab: a group per lab group, plus the lab.
func RunInventory(ctx context.Context, opts *Options, args []string, format string) error {
	l, err := opts.lab(ctx, args)
	if err != nil {
		return err
	}
	key := privateKey(opts)
	groups := map[string][]api.LabNode{l.Name: l.Nodes}
	for _, n := range l.Nodes {
		for _, g := range n.Groups {
			groups[g] = append(groups[g], n)
		}
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	hostVars := func(n api.LabNode) map[string]string {
		v := map[string]string{"ansible_host": hostOf(n), "ansible_user": "root"}
		if key != "" {
			v["ansible_ssh_private_key_file"] = key
		}
		return v
	}
	switch format {
	case "ini", "":
		for _, g := range names {
			fmt.Fprintf(opts.IO.Out, "[%s]\n", g)
			for _, n := range groups[g] {
				v := hostVars(n)
				line := fmt.Sprintf("%s ansible_host=%s ansible_user=root", n.Name, v["ansible_host"])
				if key != "" {
					line += " ansible_ssh_private_key_file=" + key
				}
				fmt.Fprintln(opts.IO.Out, line)
			}
			fmt.Fprintln(opts.IO.Out)
		}
		return nil
	case "yaml":
		inv := map[string]any{}
		children := map[string]any{}
		for _, g := range names {
			hosts := map[string]any{}
			for _, n := range groups[g] {
				hosts[n.Name] = hostVars(n)
			}
			children[g] = map[string]any{"hosts": hosts}
		}
		inv["all"] = map[string]any{"children": children}
		return output.PrintYAML(opts.IO.Out, inv)
	}
	return fmt.Errorf("invalid inventory format %q: use ini or yaml: %w", format, api.ErrInvalid)
}

// RunSSHConfig prints an OpenSSH config block per node.
func RunSSHConfig(ctx context.Context, opts *Options, args []string) error {
	l, err := opts.lab(ctx, args)
	if err != nil {
		return err
	}
	key := privateKey(opts)
	for _, n := range l.Nodes {
		fmt.Fprintf(opts.IO.Out, "Host %s\n  HostName %s\n  User root\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n", n.Name, hostOf(n))
		if key != "" {
			fmt.Fprintf(opts.IO.Out, "  IdentityFile %s\n", key)
		}
		fmt.Fprintln(opts.IO.Out)
	}
	return nil
}

// RunSSH runs ssh into a node of the lab, with the terminal attached.
func RunSSH(ctx context.Context, opts *Options, node string, extra []string) error {
	l, err := opts.lab(ctx, nil)
	if err != nil {
		return err
	}
	for _, n := range l.Nodes {
		if n.Name != node {
			continue
		}
		addr := hostOf(n)
		if addr == "" {
			return fmt.Errorf("node %s has no address (is it running?): %w", node, api.ErrNotRunning)
		}
		args := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"}
		if key := privateKey(opts); key != "" {
			args = append(args, "-i", key)
		}
		args = append(append(args, "root@"+addr), extra...)
		cmd := exec.CommandContext(ctx, "ssh", args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.IO.In, opts.IO.Out, opts.IO.ErrOut
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return &cli.ExitError{Code: ee.ExitCode()}
			}
			return fmt.Errorf("ssh: %w", err)
		}
		return nil
	}
	return fmt.Errorf("lab %s has no node %q: %w", l.Name, node, api.ErrNotFound)
}
