// Package lxcfs runs (or finds) the lxcfs FUSE filesystem whose /proc and /sys files show a
// container its own memory, CPUs and uptime. lited uses the host's lxcfs when one is mounted,
// else starts one of its own under LITE_DIR that outlives lited restarts (running containers
// keep reading from it) and is unmounted only when lited stops with no container running.
package lxcfs

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// HostDir is where Debian's lxcfs service mounts it.
const HostDir = "/var/lib/lxcfs"

// Service is one lxcfs mount that lited uses.
type Service struct {
	Dir string // the mount point
	own bool   // under LITE_DIR: lited unmounts it when it stops idle
	log *slog.Logger
}

// Ensure returns the host's lxcfs if one is mounted, else lited's own at stateDir/lxcfs,
// reusing a healthy one a previous lited left and starting one otherwise. Without the lxcfs
// binary it returns an error; lited then runs without it.
func Ensure(stateDir string, log *slog.Logger) (*Service, error) {
	if healthy(HostDir) {
		return &Service{Dir: HostDir, log: log}, nil
	}
	dir := filepath.Join(stateDir, "lxcfs")
	s := &Service{Dir: dir, own: true, log: log}
	if mounted(dir) {
		if healthy(dir) {
			return s, nil
		}
		// Its daemon died: the mount answers ENOTCONN. Detach it and start afresh.
		log.Warn("lxcfs mount is stale; remounting", "dir", dir)
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			return nil, fmt.Errorf("detach stale lxcfs mount %s: %w", dir, err)
		}
	}
	bin, err := exec.LookPath("lxcfs")
	if err != nil {
		return nil, fmt.Errorf("lxcfs is not installed (Debian package lxcfs): containers will see the host's memory and CPUs in /proc")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(stateDir, "lxcfs.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// Foreground mode in a session of its own: lxcfs is not lited's to kill on exit, and it
	// ends by itself when its mount goes.
	cmd := exec.Command(bin, "-f", "-l", "-p", filepath.Join(stateDir, "lxcfs.pid"), dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start lxcfs: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if healthy(dir) {
			log.Info("started lxcfs", "dir", dir, "pid", cmd.Process.Pid)
			return s, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("lxcfs exited at start (%v); see %s", err, filepath.Join(stateDir, "lxcfs.log"))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("lxcfs did not mount %s within 10s", dir)
		}
	}
}

// Release unmounts lited's own lxcfs (which ends its daemon) unless anyRunning reports a
// container that still reads from it. The host's lxcfs is never touched.
func (s *Service) Release(anyRunning func() bool) {
	if s == nil || !s.own || anyRunning() {
		return
	}
	if err := unix.Unmount(s.Dir, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		if err := unix.Unmount(s.Dir, unix.MNT_DETACH); err != nil {
			s.log.Warn("unmount lxcfs", "dir", s.Dir, "err", err)
			return
		}
	}
	s.waitExit()
	s.log.Info("stopped lxcfs", "dir", s.Dir)
}

// waitExit waits (briefly) for the lxcfs daemon named in its pid file to end, which it does
// once its mount is gone, so a caller that checks for leftovers right after sees none.
func (s *Service) waitExit() {
	pidFile := filepath.Join(filepath.Dir(s.Dir), "lxcfs.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid := strings.TrimSpace(string(b))
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		cmdline, err := os.ReadFile("/proc/" + pid + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), s.Dir) {
			break
		}
	}
	_ = os.Remove(pidFile)
}

// healthy reports whether an lxcfs mount at dir answers.
func healthy(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "proc", "meminfo"))
	return err == nil && mounted(dir)
}

// mounted reports whether a fuse.lxcfs filesystem is mounted at dir.
func mounted(dir string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || unescape(fields[4]) != dir {
			continue
		}
		for i, fl := range fields {
			if fl == "-" && i+1 < len(fields) && strings.HasPrefix(fields[i+1], "fuse.lxcfs") {
				return true
			}
		}
	}
	return false
}

// unescape undoes mountinfo's octal escapes (\040 for a space, \011, \012, \134).
func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
