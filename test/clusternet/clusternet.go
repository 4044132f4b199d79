// Package clusternet lays out a cluster's machines on one host for tests and benches: a
// bridge made for the purpose (ltc + 8 hex digits) on a private 10.x.y.0/24 that no route of
// the host covers, and per member a network namespace with a veth on that bridge and an
// address of its own. A lited started under Member.Prefix runs inside the member's namespaces
// and sees only its own links, nft tables and sockets, as on a machine of its own.
//
// Each member is held by a holder process (sleep) that owns a network namespace and a mount
// namespace. The mount namespace is a slave of the host's, with a sysfs of the member's
// netns on /sys: the bridges and veths lited makes live in its netns and it must find them
// in /sys. The host's mounts below /sys (cgroup trees) are kept. Mounts lited makes (lxcfs, rootfs overlays) stay inside and go with the namespace,
// so a member restarted under the same Prefix finds them again, as after a reboot-free crash.
package clusternet

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Net is the bridge and the members on it.
type Net struct {
	Bridge  string       // host bridge, ltc + 8 hex digits
	Subnet  netip.Prefix // 10.x.y.0/24
	HostIP  netip.Addr   // the host's address on the bridge (.1): keeps the subnet routed, so nothing else picks it
	Members []*Member
}

// Member is one namespace pair on the bridge.
type Member struct {
	Name string     // h1, h2...
	Addr netip.Addr // its address on the bridge (.11, .12...)
	Veth string     // the host side of its veth (a port of the bridge)

	holder *exec.Cmd
	netNS  uint64 // inode of its network namespace
	mntNS  uint64
}

// New makes the bridge and n members named h1..hn. On error, what was made is removed.
func New(n int) (_ *Net, err error) {
	if n < 1 || n > 200 {
		return nil, fmt.Errorf("clusternet: %d members: want 1 to 200", n)
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	suffix := hex.EncodeToString(b)
	subnet, err := freeSubnet()
	if err != nil {
		return nil, err
	}
	nt := &Net{Bridge: "ltc" + suffix, Subnet: subnet, HostIP: nth(subnet, 1)}
	defer func() {
		if err != nil {
			_ = nt.Close()
		}
	}()
	if err := ip("link", "add", nt.Bridge, "type", "bridge"); err != nil {
		return nil, err
	}
	if err := ip("addr", "add", fmt.Sprintf("%s/%d", nt.HostIP, subnet.Bits()), "dev", nt.Bridge); err != nil {
		return nil, err
	}
	if err := ip("link", "set", nt.Bridge, "up"); err != nil {
		return nil, err
	}
	for i := 1; i <= n; i++ {
		m := &Member{Name: fmt.Sprintf("h%d", i), Addr: nth(subnet, 10+i), Veth: fmt.Sprintf("ltc%sv%d", suffix, i)}
		nt.Members = append(nt.Members, m)
		if err := m.start(nt); err != nil {
			return nil, fmt.Errorf("member %s: %w", m.Name, err)
		}
	}
	return nt, nil
}

// holderScript runs in the new namespaces: it mounts a sysfs of the new netns on /sys, with
// the host's mounts below /sys (the cgroup trees) moved over to it, says ready and becomes
// the holder. A whole fresh sysfs, not binds over /sys/class/net: a container's user
// namespace may mount sysfs only where a fully visible one is already mounted.
const holderScript = `set -e
t=$(mktemp -d /tmp/ltcsys.XXXXXX)
keep=""
for m in $(findmnt -rn -o TARGET -R /sys | tail -n +2 | sort); do
	under=0
	for k in $keep; do case "$m" in "$k"/*) under=1;; esac; done
	[ $under = 1 ] || keep="$keep $m"
done
i=0
for m in $keep; do i=$((i+1)); mkdir "$t/$i"; mount --rbind "$m" "$t/$i"; done
umount -l /sys
mount -t sysfs sysfs /sys
i=0
for m in $keep; do i=$((i+1)); mount --move "$t/$i" "$m"; rmdir "$t/$i"; done
rmdir "$t"
ip link set lo up
echo ready
exec sleep infinity`

func (m *Member) start(nt *Net) error {
	cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "slave", "--", "sh", "-c", holderScript)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Its own process group: a ^C of the test does not take the namespaces away mid-cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start namespace holder: %w", err)
	}
	m.holder = cmd
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		m.holder = nil
		return fmt.Errorf("namespace holder did not start: %q %s", line, strings.TrimSpace(stderr.String()))
	}
	if m.netNS, err = nsInode(cmd.Process.Pid, "net"); err != nil {
		return err
	}
	if m.mntNS, err = nsInode(cmd.Process.Pid, "mnt"); err != nil {
		return err
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	steps := [][]string{
		{"link", "add", m.Veth, "type", "veth", "peer", "name", "eth0", "netns", pid},
		{"link", "set", m.Veth, "master", nt.Bridge},
		{"link", "set", m.Veth, "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return err
		}
	}
	if err := m.Run("ip", "addr", "add", fmt.Sprintf("%s/%d", m.Addr, nt.Subnet.Bits()), "dev", "eth0"); err != nil {
		return err
	}
	return m.Run("ip", "link", "set", "eth0", "up")
}

// Prefix is the command prefix that runs a program inside the member's namespaces (nsenter
// execs it: the process started is the program itself, its pid the program's).
func (m *Member) Prefix() []string {
	return []string{"nsenter", "-t", strconv.Itoa(m.holder.Process.Pid), "-n", "-m", "--"}
}

// Mountinfo is the path of the mountinfo of the member's mount namespace.
func (m *Member) Mountinfo() string {
	return fmt.Sprintf("/proc/%d/mountinfo", m.holder.Process.Pid)
}

// Command is exec.Command of name inside the member's namespaces.
func (m *Member) Command(name string, args ...string) *exec.Cmd {
	p := append(m.Prefix(), name)
	return exec.Command(p[0], append(p[1:], args...)...)
}

// Do runs f on a thread in the member's network namespace (sockets f opens are the
// member's), without needing any program inside it.
func (m *Member) Do(f func() error) error {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	target, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", m.holder.Process.Pid))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter %s's network namespace: %w", m.Name, err)
	}
	ferr := f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays locked and dies with the goroutine: never reused in the wrong netns.
		return fmt.Errorf("leave %s's network namespace: %w", m.Name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// Run runs a command inside the member's namespaces; the error carries its output.
func (m *Member) Run(name string, args ...string) error {
	if out, err := m.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s in %s: %v: %s", name, strings.Join(args, " "), m.Name, err, bytes.TrimSpace(out))
	}
	return nil
}

// Cut takes the member off the network (its bridge port down): to the others it is gone,
// its processes run on. Restore puts it back.
func (m *Member) Cut() error     { return ip("link", "set", m.Veth, "down") }
func (m *Member) Restore() error { return ip("link", "set", m.Veth, "up") }

// HTTPSAddress is the member's address for core.https_address for core.https_address (port 8443; its database node
// takes 8444, the default of HTTPS port + 1). Its own namespace: no clash with anything.
func (m *Member) HTTPSAddress() string { return m.Addr.String() + ":8443" }

// Processes returns pid -> command line of every process in the member's network or mount
// namespace, less the holder.
func (m *Member) Processes() map[int]string {
	found := map[int]string{}
	if m.holder == nil {
		return found
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == m.holder.Process.Pid {
			continue
		}
		n, _ := nsInode(pid, "net")
		mnt, _ := nsInode(pid, "mnt")
		if n != m.netNS && mnt != m.mntNS {
			continue
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		found[pid] = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	}
	return found
}

// Close kills whatever still runs in the members' namespaces (it returns an error naming
// each such process: the product or the test should have ended it), then the holders,
// which takes the namespaces, their links, nft tables and mounts with them; then removes the
// veths and the bridge.
func (nt *Net) Close() error {
	var errs []error
	for _, m := range nt.Members {
		if m.holder == nil {
			if linkExists(m.Veth) {
				if err := ip("link", "del", m.Veth); err != nil && linkExists(m.Veth) {
					errs = append(errs, err)
				}
			}
			continue
		}
		for pid, cmdline := range m.Processes() {
			errs = append(errs, fmt.Errorf("process %d still running in member %s's namespaces (killed): %s", pid, m.Name, cmdline))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for i := 0; i < 250 && len(m.Processes()) > 0; i++ {
			time.Sleep(20 * time.Millisecond)
		}
		_ = m.holder.Process.Kill()
		_ = m.holder.Wait()
		m.holder = nil
		// The namespace goes with its last process, and the veth pair with it, but the
		// kernel does that in the background: a delete may find the link gone.
		if linkExists(m.Veth) {
			if err := ip("link", "del", m.Veth); err != nil && linkExists(m.Veth) {
				errs = append(errs, err)
			}
		}
	}
	if linkExists(nt.Bridge) {
		if err := ip("link", "del", nt.Bridge); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Leftovers names this Net's links still on the host (for a final check).
func (nt *Net) Leftovers() []string {
	var left []string
	for _, name := range append([]string{nt.Bridge}, nt.veths()...) {
		if linkExists(name) {
			left = append(left, "link still exists: "+name)
		}
	}
	return left
}

func (nt *Net) veths() []string {
	var out []string
	for _, m := range nt.Members {
		out = append(out, m.Veth)
	}
	return out
}

func nsInode(pid int, ns string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, ns), &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

func linkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// nth is the i-th address of a /24.
func nth(p netip.Prefix, i int) netip.Addr {
	a := p.Addr().As4()
	a[3] = byte(i)
	return netip.AddrFrom4(a)
}

// freeSubnet picks a random 10.x.y.0/24 that overlaps no route of the host (any table) and
// no address on it.
func freeSubnet() (netip.Prefix, error) {
	var used []netip.Prefix
	for _, args := range [][]string{{"-4", "route", "show", "table", "all"}, {"-4", "-o", "addr", "show"}} {
		out, err := exec.Command("ip", args...).Output()
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("ip %s: %w", strings.Join(args, " "), err)
		}
		for _, f := range strings.Fields(string(out)) {
			if p, err := netip.ParsePrefix(f); err == nil {
				used = append(used, p.Masked())
			} else if a, err := netip.ParseAddr(f); err == nil && a.Is4() {
				used = append(used, netip.PrefixFrom(a, 32))
			}
		}
	}
	b := make([]byte, 2)
	for try := 0; try < 100; try++ {
		if _, err := rand.Read(b); err != nil {
			return netip.Prefix{}, err
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, b[0], b[1], 0}), 24)
		free := true
		for _, u := range used {
			// The default route (0.0.0.0/0) covers everything; only real subnets count.
			if u.Bits() > 0 && u.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("clusternet: no free 10.x.y.0/24 found in 100 tries")
}
