package lxc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"lite/lxd-lite/atomicfile"
)

// cgroupRoot is where the host's cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// payloadPrefix starts the name of the cgroup liblxc makes for a container's processes
// ("lxc.payload.NAME", or "lxc.payload.NAME-1" when that name is taken, by another lite say).
const payloadPrefix = "lxc.payload."

// cgroupRecord is where Start notes the container's cgroup directories, so that stop and
// delete remove exactly those and never a namesake of another lxcpath.
func (d *Driver) cgroupRecord(name string) string {
	return filepath.Join(d.LXCPath, name, "cgroups")
}

// recordCgroups notes the payload cgroup directory of the container whose init is pid in
// every hierarchy (v1 controllers and the v2 unified one), from /proc/PID/cgroup.
func (d *Driver) recordCgroups(name string, pid int) error {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return fmt.Errorf("read cgroups of %q: %w", name, err)
	}
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		i := strings.Index(parts[2], "/"+payloadPrefix)
		if i < 0 {
			continue
		}
		rel := parts[2][:i+1] + strings.SplitN(parts[2][i+1:], "/", 2)[0]
		for _, mount := range hierarchyMounts(parts[0], parts[1]) {
			if dir := filepath.Join(mount, rel); isDir(dir) {
				dirs = append(dirs, dir)
				break
			}
		}
	}
	return atomicfile.WriteFile(d.cgroupRecord(name), []byte(strings.Join(dirs, "\n")+"\n"), 0o600)
}

// hierarchyMounts are where a /proc/PID/cgroup line's hierarchy may be mounted.
func hierarchyMounts(id, controllers string) []string {
	if id == "0" {
		return []string{filepath.Join(cgroupRoot, "unified"), cgroupRoot}
	}
	if n, ok := strings.CutPrefix(controllers, "name="); ok {
		return []string{filepath.Join(cgroupRoot, n)}
	}
	return []string{filepath.Join(cgroupRoot, controllers), filepath.Join(cgroupRoot, strings.Split(controllers, ",")[0])}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// cgroupBusyWait bounds how long a removal waits for the last processes of a stopped
// container to leave its cgroups (a killed container's processes exit asynchronously).
const cgroupBusyWait = 5 * time.Second

// RemoveCgroups removes the cgroup directories Start recorded for a container that no
// longer runs: liblxc normally removes them itself, but not always (a start that failed
// late, a monitor killed, processes still exiting when it tried), and an empty
// lxc.payload.* left behind blocks the next start under that name. Only empty directories
// are removed (rmdir), deepest first, and only those named in the record.
func (d *Driver) RemoveCgroups(name string) error {
	dirs, err := d.recordedCgroups(name)
	if err != nil {
		return err
	}
	var errs []error
	for _, dir := range dirs {
		if err := removeCgroupTree(dir, cgroupBusyWait); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.Remove(d.cgroupRecord(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// recordedCgroups returns the cgroup directories Start recorded for name (none without a
// record); a line that is not a container's payload cgroup is an error.
func (d *Driver) recordedCgroups(name string) ([]string, error) {
	b, err := os.ReadFile(d.cgroupRecord(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cgroup record of %q: %w", name, err)
	}
	dirs := strings.Fields(string(b))
	for _, dir := range dirs {
		if !strings.HasPrefix(dir, cgroupRoot+"/") || !strings.HasPrefix(filepath.Base(dir), payloadPrefix) || filepath.Clean(dir) != dir {
			return nil, fmt.Errorf("cgroup record of %q names %q, not a container cgroup", name, dir)
		}
	}
	return dirs, nil
}

// removeCgroupTree rmdirs dir and the cgroups below it, deepest first, retrying up to wait
// while the kernel still counts exiting processes in them.
func removeCgroupTree(dir string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		var subdirs []string
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				subdirs = append(subdirs, p)
			}
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("walk cgroup %s: %w", dir, err)
		}
		var busy error
		for i := len(subdirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(subdirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
				busy = fmt.Errorf("remove cgroup %s: %w", subdirs[i], err)
				break
			}
		}
		if busy == nil || !errors.Is(busy, syscall.EBUSY) || time.Now().After(deadline) {
			return busy
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// monitorPrefix starts the name of the cgroup liblxc makes for a container's monitor.
const monitorPrefix = "lxc.monitor."

// removeFailedStartCgroups removes the cgroups a failed lxc-start left (liblxc leaves its
// monitor's lxc.monitor.NAME in every hierarchy when the container's init cannot run). No
// record exists yet, so they are found by name, at the root of each hierarchy and under
// lited's own cgroup, where liblxc puts them. A namesake of another lxcpath that runs is
// not touched: its monitor is alive (checked first) and a cgroup in use cannot be removed.
func (d *Driver) removeFailedStartCgroups(name string) error {
	// The failed container's own monitor may still be on its way out, inside its cgroup.
	d.waitMonitorGone(name, 10*time.Second)
	if monitorOfAnyPath(name) {
		return nil
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	var errs []error
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, mount := range hierarchyMounts(parts[0], parts[1]) {
			if !isDir(mount) {
				continue
			}
			for _, base := range []string{"/", parts[2]} {
				for _, prefix := range []string{monitorPrefix, payloadPrefix} {
					dir := filepath.Join(mount, base, prefix+name)
					if err := removeCgroupTree(dir, 0); err != nil && !errors.Is(err, syscall.EBUSY) {
						errs = append(errs, err)
					}
				}
			}
			break
		}
	}
	return errors.Join(errs...)
}

// monitorOfAnyPath reports whether an lxc monitor of a container called name runs, whatever
// its lxcpath.
func monitorOfAnyPath(name string) bool {
	if _, err := os.Stat("/proc/self"); err != nil {
		return true // cannot tell: touch nothing
	}
	return len(procsWhere(func(cmdline []byte) bool {
		title := titleOf(cmdline)
		return strings.HasPrefix(title, "[lxc monitor] ") && strings.HasSuffix(title, " "+name)
	})) > 0
}
