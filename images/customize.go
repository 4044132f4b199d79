package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// maskedUnits are the systemd units an unprivileged lxc container cannot
// run; masking them lets systemd reach `running` instead of `degraded`.
// Booting the bookworm image unmasked in an unprivileged lxc container
// (cgroup hybrid host) failed only sys-kernel-debug.mount; the others are
// skipped there by their conditions but fail on hosts or releases where
// the conditions hold, and none can work in a user namespace.
var maskedUnits = []string{
	// The kernel refuses debugfs, tracefs, configfs, hugetlbfs and fusectl
	// mounts from a user namespace (lxc binds fusectl in when it exists).
	"sys-kernel-debug.mount",
	"sys-kernel-tracing.mount",
	"sys-kernel-config.mount",
	"dev-hugepages.mount",
	"sys-fs-fuse-connections.mount",
	// binfmt_misc is the host's, not the container's.
	"proc-sys-fs-binfmt_misc.automount",
	// The audit netlink socket is not available in a user namespace.
	"systemd-journald-audit.socket",
	// Kernel modules are the host's.
	"systemd-modules-load.service",
	// udev is not installed, but a container has no devices to manage:
	// keep it off if a user installs it.
	"systemd-udevd.service",
	"systemd-udevd-control.socket",
	"systemd-udevd-kernel.socket",
	"systemd-udev-trigger.service",
	"systemd-udev-settle.service",
	// The rest could run but do nothing in a container, and every process a boot starts
	// costs: ~20 ms of CPU an exec on this kind of host (perf during a boot), where a
	// Debian 12 boot was 1.3-1.7 CPU-s. Masking these and idleGenerators took a boot to
	// ~1.0 CPU-s and 0.65 s of userspace (from 0.85), which is what 30 nodes booting
	// at once on 2 cores wait for.
	// Kernel modules are the host's: modprobe@ (dm_mod, drm, efi_pstore, loop, ...)
	// only fails quietly, ~100 ms each.
	"modprobe@.service",
	// ext4 scrubbing and TRIM are the host's business, not a directory tree's.
	"e2scrub_reap.service",
	"e2scrub_all.timer",
	"fstrim.timer",
	// Networks from the kernel command line (the host's), and remounting / per fstab,
	// which lxc already mounted.
	"systemd-network-generator.service",
	"systemd-remount-fs.service",
}

// idleGenerators are systemd generators that find nothing in a container (disks,
// encryption, hibernation, the kernel command line, which systemd ignores there): each
// is an exec at every boot. Masked by a /dev/null link in /etc/systemd/system-generators.
var idleGenerators = []string{
	"systemd-cryptsetup-generator",
	"systemd-gpt-auto-generator",
	"systemd-hibernate-resume-generator",
	"systemd-integritysetup-generator",
	"systemd-veritysetup-generator",
	"systemd-debug-generator",
	"systemd-run-generator",
	"systemd-system-update-generator",
}

// hostKeysUnit makes the ssh host keys the builder deletes, on the first
// boot of each container, so no two containers share keys. Only ed25519 and
// ECDSA: they take milliseconds, while an RSA key (ssh-keygen -A) costs 1-2 s
// of CPU on every launch, which made it most of a container's boot. Clients
// from the last decade use ed25519; "ssh-keygen -A" inside adds RSA for older ones.
const hostKeysUnit = `[Unit]
Description=Generate missing SSH host keys
ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
ExecStart=/usr/bin/ssh-keygen -q -t ecdsa -N "" -f /etc/ssh/ssh_host_ecdsa_key
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target ssh.service
`

// sshdHostKeys names the keys hostKeysUnit makes, so sshd does not look for an RSA key.
const sshdHostKeys = "HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n"

// hostKeysUnitName is the unit file name of hostKeysUnit.
const hostKeysUnitName = "lite-ssh-hostkeys.service"

// eth0Network configures the container's one nic with DHCP (IPv4); the
// search domain the DHCP server gives is used for name resolution. The host
// name is lxc's (the instance's name): taking the lease's would only start
// systemd-hostnamed at every boot to set the same name (~120 ms of CPU).
const eth0Network = `[Match]
Name=eth0

[Network]
DHCP=ipv4

[DHCPv4]
UseDomains=true
UseHostname=false
`

// resolvedConf turns off LLMNR and multicast DNS: lite's DNS server answers every
// instance's name, and on a bridge with hundreds of containers each one's resolved
// would probe and answer the others' multicast names at every boot.
const resolvedConf = `[Resolve]
LLMNR=no
MulticastDNS=no
`

// defaultHosts is /etc/hosts until the image's template renders it with the
// container's name.
const defaultHosts = `127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
`

// customize turns a fresh debootstrap tree into a container image: see each
// step. The tree is our own, so plain paths are fine here.
func customize(ctx context.Context, rootfs string, r Recipe) error {
	steps := []struct {
		name string
		fn   func() error
	}{
		{"write files", func() error { return writeConfigFiles(rootfs, r) }},
		{"systemd units", func() error { return setupUnits(ctx, rootfs) }},
		{"identity", func() error { return resetIdentity(rootfs) }},
		{"root password", func() error { return lockRoot(rootfs) }},
		// sshd refuses keys in a group- or world-writable ~/.ssh: make it 0700 here, so
		// the authorized_keys template only creates the file.
		{"root ssh dir", func() error { return os.MkdirAll(filepath.Join(rootfs, "root/.ssh"), 0o700) }},
		{"clean", func() error { return cleanRootfs(rootfs) }},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return fmt.Errorf("customize %s: %w", s.name, err)
		}
	}
	return nil
}

// writeConfigFiles writes networkd's eth0 config, the host keys unit, the
// placeholder hostname and hosts, the apt sources and resolv.conf.
func writeConfigFiles(rootfs string, r Recipe) error {
	files := map[string]string{
		"etc/systemd/network/eth0.network":         eth0Network,
		"etc/systemd/system/" + hostKeysUnitName:   hostKeysUnit,
		"etc/ssh/sshd_config.d/lite-hostkeys.conf": sshdHostKeys,
		"etc/systemd/resolved.conf.d/lite.conf":    resolvedConf,
		"etc/hostname":                             "localhost\n",
		"etc/hosts":                                defaultHosts,
		"etc/apt/sources.list.d/debian.sources":    aptSources(rootfs, r),
	}
	for rel, content := range files {
		p := filepath.Join(rootfs, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
		// WriteFile keeps the mode of an existing file (debootstrap copies
		// the host's hostname 0755 at times).
		if err := os.Chmod(p, 0o644); err != nil {
			return err
		}
	}
	if err := os.Remove(filepath.Join(rootfs, "etc/apt/sources.list")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// debootstrap copies the host's resolv.conf; the container uses
	// systemd-resolved's stub.
	resolv := filepath.Join(rootfs, "etc/resolv.conf")
	if err := os.Remove(resolv); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Symlink("../run/systemd/resolve/stub-resolv.conf", resolv)
}

// aptSources returns deb822 sources for the release from the mirror used,
// with its updates and security suites.
func aptSources(rootfs string, r Recipe) string {
	if r.OS == "ubuntu" {
		return ubuntuSources(rootfs, r)
	}
	security := "http://deb.debian.org/debian-security"
	if m := strings.TrimSuffix(r.Mirror, "/"); strings.HasSuffix(m, "/debian") {
		security = m + "-security"
	}
	signed := ""
	keyring := "/usr/share/keyrings/debian-archive-keyring.gpg"
	if _, err := os.Stat(filepath.Join(rootfs, keyring)); err == nil {
		signed = "Signed-By: " + keyring + "\n"
	}
	return fmt.Sprintf("Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n%s\n"+
		"Types: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n%s",
		r.Mirror, r.Suite, r.Suite, signed, security, r.Suite, signed)
}

// setupUnits enables networkd, resolved and the host keys unit, and masks
// what a container cannot run or has no use for, with the image's own
// systemctl (units) and /dev/null links (generators).
func setupUnits(ctx context.Context, rootfs string) error {
	enable := []string{"enable", "systemd-networkd.service", "systemd-resolved.service", hostKeysUnitName}
	if err := chroot(ctx, rootfs, "systemctl", enable...); err != nil {
		return err
	}
	if err := chroot(ctx, rootfs, "systemctl", append([]string{"mask"}, maskedUnits...)...); err != nil {
		return err
	}
	dir := filepath.Join(rootfs, "etc/systemd/system-generators")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, g := range idleGenerators {
		if err := os.Symlink("/dev/null", filepath.Join(dir, g)); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return nil
}

// resetIdentity empties machine-id (each container gets its own on first
// boot) and deletes the ssh host keys (regenerated by hostKeysUnit).
func resetIdentity(rootfs string) error {
	if err := os.WriteFile(filepath.Join(rootfs, "etc/machine-id"), nil, 0o444); err != nil {
		return err
	}
	dbusID := filepath.Join(rootfs, "var/lib/dbus/machine-id")
	if err := os.Remove(dbusID); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Symlink("/etc/machine-id", dbusID); err != nil {
		return err
	}
	keys, err := filepath.Glob(filepath.Join(rootfs, "etc/ssh/ssh_host_*"))
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := os.Remove(k); err != nil {
			return err
		}
	}
	return nil
}

// lockRoot locks root's password: access is through lite exec or ssh keys.
func lockRoot(rootfs string) error {
	p := filepath.Join(rootfs, "etc/shadow")
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		f := bytes.SplitN(l, []byte(":"), 3)
		if len(f) == 3 && string(f[0]) == "root" && !bytes.HasPrefix(f[1], []byte("!")) {
			lines[i] = bytes.Join([][]byte{f[0], append([]byte("!"), f[1]...), f[2]}, []byte(":"))
		}
	}
	return os.WriteFile(p, bytes.Join(lines, []byte("\n")), 0o640)
}

// cleanRootfs drops apt's caches and lists and the build's logs, which only
// make the image bigger.
func cleanRootfs(rootfs string) error {
	globs := []string{
		"var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*_*",
		"var/cache/debconf/*-old", "var/lib/dpkg/*-old", "var/log/bootstrap.log",
		// tmpfs covers these at boot; what the build left there is noise.
		"run/*", "tmp/*", "var/tmp/*",
	}
	for _, g := range globs {
		matches, err := filepath.Glob(filepath.Join(rootfs, g))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// chroot runs a command inside rootfs.
func chroot(ctx context.Context, rootfs, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, "chroot", append([]string{rootfs, name}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
