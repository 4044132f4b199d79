package images

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// debootstrapTail is how many of debootstrap's last lines a failure quotes.
const debootstrapTail = 8

// debootstrap runs debootstrap for r into rootfs, streaming its output to
// Progress. Cancelling ctx kills its whole process group. Whatever happens,
// nothing stays mounted under rootfs afterwards (debootstrap mounts /proc
// and /sys there while it works, and a killed one cannot unmount them).
func (b *Builder) debootstrap(ctx context.Context, r Recipe, rootfs string) (err error) {
	plan, err := b.Plan(r, rootfs)
	if err != nil {
		return err
	}
	args := plan.Args
	b.progress("debootstrap " + strings.Join(args, " "))

	cmd := exec.CommandContext(ctx, "debootstrap", args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The negative pid is the process group: dpkg, wget and the
		// chrooted maintainer scripts die with debootstrap.
		return unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("debootstrap: %w", err)
	}
	cmd.Stderr = cmd.Stdout
	defer func() {
		if uerr := unmountUnder(rootfs); uerr != nil && err == nil {
			err = uerr
		}
	}()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("debootstrap: %w", err)
	}
	var tail []string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "I: "))
		if line == "" {
			continue
		}
		b.progress("debootstrap: " + line)
		tail = append(tail, line)
		if len(tail) > debootstrapTail {
			tail = tail[1:]
		}
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("debootstrap: %w", ctx.Err())
		}
		return fmt.Errorf("debootstrap: %w: %s", err, strings.Join(tail, "; "))
	}
	return nil
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	var points []string
	for _, line := range bytes.Split(data, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) < 5 {
			continue
		}
		mp := unescapeMountPath(f[4])
		if strings.HasPrefix(mp, prefix) || mp == dir {
			points = append(points, mp)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, mp := range points {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			return fmt.Errorf("unmount %s: %w", mp, err)
		}
	}
	return nil
}

// unescapeMountPath decodes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
