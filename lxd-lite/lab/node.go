package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"lite/client/api"
	"lite/lxd-lite/instance"
	labfile "lite/profiles/lab"
)

// maxOutput bounds what is kept of one command's output (its tail is what matters).
const maxOutput = 64 << 10

func dhcpIfaces(n labfile.Node) []string {
	var out []string
	for _, nic := range n.NICs {
		if nic.IPv4 == "" {
			out = append(out, nic.Name)
		}
	}
	return out
}

// waitReady waits, with a deadline, until the node is ready. The wait runs inside the node
// (readyLoop): one exec per node instead of one every few hundred milliseconds, which cost
// more CPU than the checks themselves while every node of a lab boots at once. The exec is
// made again if it fails, as it does while the node is still starting.
func (s *Service) waitReady(ctx context.Context, n labfile.Node) error {
	timeout := s.ReadyTimeout
	if timeout <= 0 {
		timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	script := readyLoop(labfile.ReadyScript(dhcpIfaces(n)) + staticChecks(n))
	why := ""
	for {
		code, out, err := s.exec(ctx, n.Name, []string{"sh", "-c", script}, nil)
		if err == nil && code == 0 {
			return nil
		}
		if w := lastLines(strings.TrimSpace(out), 1); w != "" {
			why = w
		}
		if err != nil && ctx.Err() == nil {
			why = err.Error()
		}
		select {
		case <-ctx.Done():
			if why == "" {
				why = "no answer"
			}
			return fmt.Errorf("node %s: not ready after %s: %s: %w", n.Name, timeout, why, api.ErrUnavailable)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// readyLoop wraps the readiness checks in a loop that runs inside the node until they pass:
// it first lets systemctl wait for the end of the boot (no polling), then repeats the checks
// every 200 ms, printing each new reason it is not ready yet. $n counts the rounds.
func readyLoop(checks string) string {
	return `systemctl is-system-running --wait >/dev/null 2>&1
n=0; last=
until why=$( (
` + checks + `) 2>&1 ); do
	[ "$why" = "$last" ] || echo "$why"; last=$why; n=$((n+1)); sleep 0.2
done
`
}

// provisionOnce installs the ssh keys, pushes the files and runs the run steps, in that
// order, and returns their output. A failing step stops the node's provisioning.
func (s *Service) provisionOnce(ctx context.Context, n labfile.Node, req api.LabsPost) (string, error) {
	var log strings.Builder
	keys := req.DefaultSSHKeys
	if n.SSHKeys != nil {
		keys = nil
		for _, k := range n.SSHKeys {
			keys = append(keys, strings.TrimSpace(string(req.Files[k])))
		}
	}
	if len(keys) > 0 {
		if err := s.step(ctx, n.Name, "install ssh keys", keyScript(n.User), []byte(strings.Join(keys, "\n")+"\n"), &log); err != nil {
			return log.String(), err
		}
	}
	for _, f := range n.Files {
		script := fmt.Sprintf(`set -e; p=%s; mkdir -p "$(dirname "$p")"; cat > "$p.lite-tmp"; chown %d:%d "$p.lite-tmp"; chmod %s "$p.lite-tmp"; mv -f "$p.lite-tmp" "$p"`,
			shellQuote(f.Path), f.UID, f.GID, f.Mode)
		if err := s.step(ctx, n.Name, "copy "+f.Source+" to "+f.Path, script, req.Files[f.Source], &log); err != nil {
			return log.String(), err
		}
	}
	for _, cmd := range n.Run {
		if err := s.step(ctx, n.Name, cmd, cmd, nil, &log); err != nil {
			return log.String(), err
		}
	}
	return log.String(), nil
}

// keyScript installs authorized_keys (from stdin) for root, or creates user and gives it them.
func keyScript(user string) string {
	if user == "" {
		return `set -e; umask 077; mkdir -p /root/.ssh; cat > /root/.ssh/authorized_keys`
	}
	u := shellQuote(user)
	return fmt.Sprintf(`set -e; id -u %[1]s >/dev/null 2>&1 || useradd -m -s /bin/bash %[1]s; h=$(getent passwd %[1]s | cut -d: -f6)
umask 077; mkdir -p "$h/.ssh"; cat > "$h/.ssh/authorized_keys"; chown -R %[1]s: "$h/.ssh"`, u)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// step runs one provisioning command and logs it; failure names the command, its exit code
// and its last lines.
func (s *Service) step(ctx context.Context, node, what, script string, stdin []byte, log *strings.Builder) error {
	fmt.Fprintf(log, "$ %s\n", what)
	code, out, err := s.exec(ctx, node, []string{"sh", "-c", script}, stdin)
	log.WriteString(out)
	if err != nil {
		return fmt.Errorf("node %s: %s: %w", node, what, err)
	}
	if code != 0 {
		return fmt.Errorf("node %s: run %q exited with %d; last lines:\n%s", node, what, code, lastLines(out, 10))
	}
	return nil
}

// exec runs cmd in the node as root and returns its exit code and (the tail of) its output.
func (s *Service) exec(ctx context.Context, name string, cmd []string, stdin []byte) (int, string, error) {
	env, cwd, err := s.Instances.ExecEnv(ctx, name, nil, 0)
	if err != nil {
		return -1, "", err
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return -1, "", err
	}
	defer inR.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		inW.Close()
		return -1, "", err
	}
	defer outR.Close()
	proc, err := s.Runtime.Exec(ctx, name, instance.ExecSpec{Command: cmd, Env: env, Cwd: cwd,
		Stdin: inR, Stdout: outW, Stderr: outW})
	outW.Close()
	if err != nil {
		inW.Close()
		return -1, "", err
	}
	go func() {
		_, _ = inW.Write(stdin) // a command that does not read its input closes the pipe
		inW.Close()
	}()
	stop := context.AfterFunc(ctx, func() { _ = proc.Signal(syscall.SIGKILL) })
	defer stop()
	var out tail
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(&out, outR)
		close(copied)
	}()
	code, err := proc.Wait()
	// A background process the command left may hold the output pipe open: do not wait on it.
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
		outR.Close()
		<-copied
	}
	if ctx.Err() != nil {
		return -1, out.String(), ctx.Err()
	}
	return code, out.String(), err
}

// tail keeps the last maxOutput bytes written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > maxOutput {
		t.b = bytes.Clone(t.b[len(t.b)-maxOutput:])
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.b) }

// nicScript writes a systemd-networkd file for each interface after eth0 (the image
// configures eth0 only): a static address with the network's prefix, or DHCP. It runs before
// the node's first readiness check; the files stay in the node across restarts.
func nicScript(l *labfile.Lab, n labfile.Node) string {
	var b strings.Builder
	for _, nic := range n.NICs {
		if nic.Name == "eth0" {
			continue
		}
		body := "DHCP=ipv4\n"
		if nic.IPv4 != "" {
			if p, err := netip.ParsePrefix(l.Network(nic.Network).IPv4); err == nil {
				body = fmt.Sprintf("Address=%s/%d\n", nic.IPv4, p.Bits())
			}
		}
		fmt.Fprintf(&b, "printf '[Match]\\nName=%s\\n\\n[Network]\\n%s' > /etc/systemd/network/%s.network\n",
			nic.Name, strings.ReplaceAll(body, "\n", "\\n"), nic.Name)
	}
	if b.Len() == 0 {
		return ""
	}
	return "set -e\n" + b.String() + "networkctl reload >/dev/null 2>&1 || true\n"
}

// staticChecks adds to the readiness script a check per static address after eth0; a miss
// asks networkd to reload (the first time and every 10th round of readyLoop), in case it
// started before the files were written.
func staticChecks(n labfile.Node) string {
	var b strings.Builder
	for _, nic := range n.NICs {
		if nic.Name != "eth0" && nic.IPv4 != "" {
			fmt.Fprintf(&b, "ip -4 -o addr show dev %[1]s 2>/dev/null | grep -q 'inet %[2]s/' || { [ $((${n:-0} %% 10)) -ne 0 ] || networkctl reload >/dev/null 2>&1; echo \"%[1]s does not have %[2]s yet\"; exit 1; }\n", nic.Name, nic.IPv4)
		}
	}
	return b.String()
}
