package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"lite/client/api"
	labfile "lite/profiles/lab"
)

// CaptureOptions say what a packet capture listens on and when it ends.
type CaptureOptions struct {
	// Target is NODE:IFACE (a nic on a lab network, or a link's end) or a link as plans name
	// it (NODE:IFACE-NODE:IFACE).
	Target string
	// Filter is a pcap filter expression, one word per element, as tcpdump takes it.
	Filter []string
	// Count stops the capture after this many packets (0: when ctx ends).
	Count int
}

// Capture is a running tcpdump on the host: read Out (a pcap stream) to its end, then Wait.
type Capture struct {
	// Where says what it listens on, for the user.
	Where string
	// Out is the pcap stream.
	Out io.Reader

	cmd    *exec.Cmd
	stderr *syncTail
	nsFile *os.File
}

// Wait waits for tcpdump to end and returns its failure with its last words.
func (c *Capture) Wait() error {
	err := c.cmd.Wait()
	if c.nsFile != nil {
		c.nsFile.Close()
	}
	if err != nil {
		return fmt.Errorf("tcpdump: %v: %s", err, lastLines(c.stderr.String(), 3))
	}
	return nil
}

// captureReady bounds the wait for tcpdump to say it listens.
const captureReady = 10 * time.Second

// Capture starts tcpdump on the host for a lab's interface and returns once it listens, so
// that traffic sent after it returns is in the capture. A nic on a lab network is captured
// on its host end (the bridge port); a link has no host end (both ends are in the nodes), so
// tcpdump enters the node's network namespace, and only that: it runs as the host's binary,
// never the node's. tcpdump writes packets raw (-w), without decoding them. It ends with ctx.
func (s *Service) Capture(ctx context.Context, lab string, o CaptureOptions) (*Capture, error) {
	l, err := s.stored(ctx, lab)
	if err != nil {
		return nil, err
	}
	if o.Count < 0 {
		return nil, fmt.Errorf("capture: count %d: want 0 (no limit) or more: %w", o.Count, api.ErrInvalid)
	}
	bin, err := exec.LookPath("tcpdump")
	if err != nil {
		return nil, fmt.Errorf("capture: tcpdump is not installed on the host (apt-get install tcpdump): %w", api.ErrUnavailable)
	}
	node, iface, err := captureTarget(l, o.Target)
	if err != nil {
		return nil, err
	}
	args := []string{"-i", "", "-U", "--immediate-mode", "-n", "-w", "-"}
	if o.Count > 0 {
		args = append(args, "-c", strconv.Itoa(o.Count))
	}
	args = append(append(args, "--"), o.Filter...)
	c := &Capture{stderr: &syncTail{closed: make(chan struct{})}}
	if nic := nicOf(l.Node(node), iface); nic != nil {
		host, err := s.hostEnd(ctx, node, iface)
		if err != nil {
			return nil, err
		}
		args[1] = host
		c.Where = fmt.Sprintf("%s:%s on the host (veth %s, a port of bridge %s)", node, iface, host, NetworkName(l.Name, nic.Network))
		c.cmd = exec.CommandContext(ctx, bin, args...)
	} else {
		args[1] = iface
		if c.nsFile, err = s.netnsOf(ctx, node); err != nil {
			return nil, err
		}
		c.Where = fmt.Sprintf("%s:%s in node %s's network namespace (a link end)", node, iface, node)
		c.cmd = exec.CommandContext(ctx, "nsenter", append([]string{"--net=/proc/self/fd/3", bin}, args...)...)
		c.cmd.ExtraFiles = []*os.File{c.nsFile}
	}
	if err := c.start(); err != nil {
		if c.nsFile != nil {
			c.nsFile.Close()
		}
		return nil, fmt.Errorf("capture %s:%s: %w", node, iface, err)
	}
	return c, nil
}

// start runs tcpdump and waits until it says it listens (or fails).
func (c *Capture) start() error {
	// Killed with lited, until tcpdump drops root (which clears the signal); after that it
	// ends at its next packet, on the broken pipe.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	errR, err := c.cmd.StderrPipe()
	if err != nil {
		return err
	}
	c.Out = out
	if err := c.cmd.Start(); err != nil {
		return err
	}
	listening := make(chan struct{})
	go c.stderr.watch(errR, "listening on ", listening)
	select {
	case <-listening:
		return nil
	case <-time.After(captureReady):
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
		return fmt.Errorf("tcpdump did not start listening within %s: %s: %w", captureReady, lastLines(c.stderr.String(), 3), api.ErrUnavailable)
	case <-c.stderr.closed:
		_ = c.cmd.Wait()
		return fmt.Errorf("%s: %w", lastLines(c.stderr.String(), 3), api.ErrInvalid)
	}
}

// captureTarget resolves NODE:IFACE or a link name to a node and one of its interfaces that
// the lab file gives it (a nic or a link end).
func captureTarget(l *labfile.Lab, target string) (string, string, error) {
	for _, lk := range l.Links {
		if LinkName(lk) == target {
			return lk.Ends[0].Node, lk.Ends[0].Iface, nil
		}
	}
	node, iface, ok := strings.Cut(target, ":")
	if !ok || node == "" || iface == "" {
		return "", "", fmt.Errorf("capture %q: want NODE:IFACE or a link (NODE:IFACE-NODE:IFACE): %w", target, api.ErrInvalid)
	}
	n := l.Node(node)
	if n == nil {
		return "", "", fmt.Errorf("capture %q: lab %s has no node %s: %w", target, l.Name, node, api.ErrNotFound)
	}
	have := []string{}
	for _, nic := range n.NICs {
		have = append(have, nic.Name)
	}
	for _, lk := range l.Links {
		for _, e := range lk.Ends {
			if e.Node == node {
				if e.Iface == iface {
					return node, iface, nil
				}
				have = append(have, e.Iface)
			}
		}
	}
	if nicOf(n, iface) != nil {
		return node, iface, nil
	}
	return "", "", fmt.Errorf("capture %q: node %s has no interface %s in the lab file (it has: %s): %w",
		target, node, iface, strings.Join(have, ", "), api.ErrNotFound)
}

func nicOf(n *labfile.Node, iface string) *labfile.NIC {
	for i, nic := range n.NICs {
		if nic.Name == iface {
			return &n.NICs[i]
		}
	}
	return nil
}

// hostEnd returns the host end of a running node's nic, as lited recorded it.
func (s *Service) hostEnd(ctx context.Context, node, iface string) (string, error) {
	full, err := s.Instances.Get(ctx, node)
	if err != nil {
		return "", err
	}
	if full.StatusCode != api.Running {
		return "", fmt.Errorf("capture %s:%s: node %s is not running (lite lab up): %w", node, iface, node, api.ErrNotRunning)
	}
	host := full.Config["volatile."+iface+".host_name"]
	if host == "" {
		return "", fmt.Errorf("capture %s:%s: the nic has no host end recorded: %w", node, iface, api.ErrNotFound)
	}
	return host, nil
}

// netnsOf opens a running node's network namespace; the node's init pid is checked again
// after the open, so a pid reused in between is never entered.
func (s *Service) netnsOf(ctx context.Context, node string) (*os.File, error) {
	pid := s.pidOf(ctx, node)
	if pid == 0 {
		return nil, fmt.Errorf("capture: node %s is not running (lite lab up): %w", node, api.ErrNotRunning)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, fmt.Errorf("capture: node %s: %w", node, err)
	}
	if s.pidOf(ctx, node) != pid {
		f.Close()
		return nil, fmt.Errorf("capture: node %s restarted: try again: %w", node, api.ErrConflict)
	}
	return f, nil
}

// syncTail keeps the tail of tcpdump's stderr and says when a line with a marker came.
type syncTail struct {
	mu     sync.Mutex
	t      tail
	closed chan struct{}
}

func (s *syncTail) watch(r io.Reader, marker string, seen chan<- struct{}) {
	defer close(s.closed)
	buf := make([]byte, 4096)
	once := false
	for {
		n, err := r.Read(buf)
		s.mu.Lock()
		_, _ = s.t.Write(buf[:n])
		found := !once && strings.Contains(s.t.String(), marker)
		s.mu.Unlock()
		if found {
			once = true
			close(seen)
		}
		if err != nil {
			return
		}
	}
}

func (s *syncTail) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t.String()
}
