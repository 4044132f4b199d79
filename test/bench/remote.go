package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// remoteCopyMiB is what the source container writes into its writable layer before the
// copies between two daemons.
const remoteCopyMiB = 100

// freeTCPPort returns a loopback port nothing listens on now.
func freeTCPPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

// lastLine is the token line of `config trust add` output.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// timeCopies copies src to dst0..dstN-1 with copyFn and returns the times in seconds.
func (r *run) timeCopies(ctx context.Context, copyFn func(dst string) error) ([]float64, error) {
	var v []float64
	for i := 0; i < r.opts.slow && ctx.Err() == nil; i++ {
		t0 := time.Now()
		if err := copyFn(fmt.Sprintf("rcp%d", i)); err != nil {
			return v, err
		}
		v = append(v, time.Since(t0).Seconds())
	}
	return v, nil
}

// measureRemoteCopyLite times `lite copy SRC host2:DST` of a stopped container with
// remoteCopyMiB written into it, from l to a second lited over HTTPS.
func (r *run) measureRemoteCopyLite(ctx context.Context, l *lite) error {
	l2 := &lite{bin: l.bin}
	if err := l2.spawn(ctx, &r.clean, "b"); err != nil {
		return err
	}
	conf := filepath.Join(l.dir, "cliconf")
	cli := func(args ...string) (string, error) {
		return runCmd(ctx, []string{"LITE_DIR=" + l.dir, "LITE_CONF=" + conf}, filepath.Join(l.bin, "lite"), args...)
	}
	addr, err := freeTCPPort()
	if err != nil {
		return err
	}
	if _, err := l2.lite(ctx, "config", "set", "core.https_address", addr); err != nil {
		return err
	}
	out, err := l2.lite(ctx, "config", "trust", "add", "bench")
	if err != nil {
		return err
	}
	if _, err := cli("remote", "add", "host2", lastLine(out)); err != nil {
		return err
	}
	if err := l.Launch(ctx, "rsrc"); err != nil {
		return err
	}
	if _, err := cli("exec", "rsrc", "--", "dd", "if=/dev/urandom", "of=/root/blob", "bs=1M", fmt.Sprint("count=", remoteCopyMiB), "status=none"); err != nil {
		return err
	}
	if err := l.Stop(ctx, "rsrc"); err != nil {
		return err
	}
	v, err := r.timeCopies(ctx, func(dst string) error { _, err := cli("copy", "rsrc", "host2:"+dst); return err })
	if err != nil {
		return err
	}
	r.report.add("copy-remote", l.Name(), v)
	return l.Delete(ctx, "rsrc")
}

// startLXD2 starts a second LXD with a dir pool and no network (copies of stopped
// containers need none) and serves it on HTTPS.
func startLXD2(ctx context.Context, cl *cleanups) (*lxdEnv, error) {
	e := &lxdEnv{}
	if err := e.spawn(cl, "lite-bench-lxd2-", "the second lxd"); err != nil {
		return nil, err
	}
	if _, err := e.lxd(ctx, "waitready", "--timeout", "60"); err != nil {
		return nil, err
	}
	for _, s := range [][]string{{"storage", "create", "dir", "dir"}, {"profile", "device", "add", "default", "root", "disk", "path=/", "pool=dir"}} {
		if _, err := e.lxc(ctx, s...); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// measureRemoteCopyLXD times `lxc copy SRC lxd2:DST` between two LXD daemons, the same
// container as lite's (remoteCopyMiB written, stopped), on the dir pool.
func (r *run) measureRemoteCopyLXD(ctx context.Context, env *lxdEnv) error {
	e2, err := startLXD2(ctx, &r.clean)
	if err != nil {
		return err
	}
	for _, e := range []*lxdEnv{env, e2} {
		addr, err := freeTCPPort()
		if err != nil {
			return err
		}
		if _, err := e.lxc(ctx, "config", "set", "core.https_address", addr); err != nil {
			return err
		}
	}
	out, err := e2.lxc(ctx, "config", "trust", "add", "--name", "bench")
	if err != nil {
		return err
	}
	if _, err := env.lxc(ctx, "remote", "add", "lxd2", lastLine(out)); err != nil {
		return err
	}
	s := env.system("dir")
	if err := s.Launch(ctx, "rsrc"); err != nil {
		return err
	}
	if _, err := env.lxc(ctx, "exec", "rsrc", "--", "dd", "if=/dev/urandom", "of=/root/blob", "bs=1M", fmt.Sprint("count=", remoteCopyMiB), "status=none"); err != nil {
		return err
	}
	if err := s.Stop(ctx, "rsrc"); err != nil {
		return err
	}
	v, err := r.timeCopies(ctx, func(dst string) error {
		_, err := env.lxc(ctx, "copy", "rsrc", "lxd2:"+dst, "--profile", "default")
		return err
	})
	if err != nil {
		return err
	}
	r.report.add("copy-remote", s.Name(), v)
	return s.Delete(ctx, "rsrc")
}
