package test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fileSum hashes a host file, "" when it cannot be read.
func fileSum(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// TestFileTransfer pushes and pulls files, directories and symlinks with owners and modes, on
// a running and a stopped container.
func TestFileTransfer(t *testing.T) {
	d := sharedWeb1(t)
	deleteOnCleanup(t, d, "file-stopped")
	mustLite(t, d, "init", "debian/12", "file-stopped")
	local := t.TempDir()
	src := filepath.Join(local, "tree")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "b"), []byte("bee\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/b", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "app.conf"), []byte("conf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web1", "file-stopped"} {
		t.Run(name, func(t *testing.T) {
			t.Cleanup(func() { d.Lite("exec", "web1", "--", "rm", "-rf", "/etc/filetest", "/opt/filetest") })
			mustLite(t, d, "file", "push", "-p", "--uid", "1000", "--gid", "1001", "--mode", "0640", filepath.Join(local, "app.conf"), name+"/etc/filetest/app.conf")
			mustLite(t, d, "file", "push", "-r", "-p", src, name+"/opt/filetest/")
			out := filepath.Join(local, "out-"+name)
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			mustLite(t, d, "file", "pull", "-r", name+"/opt/filetest/tree", out)
			if b, _ := os.ReadFile(filepath.Join(out, "tree", "sub", "b")); string(b) != "bee\n" {
				t.Errorf("pulled tree: %q", b)
			}
			if tgt, _ := os.Readlink(filepath.Join(out, "tree", "link")); tgt != "sub/b" {
				t.Errorf("pulled symlink: %q", tgt)
			}
			if got := mustLite(t, d, "file", "pull", name+"/etc/filetest/app.conf", "-"); got != "conf\n" {
				t.Errorf("pull to stdout: %q", got)
			}
			d.LiteIn(strings.NewReader("edited\n"), "file", "edit", name+"/etc/filetest/app.conf")
			if got := mustLite(t, d, "file", "pull", name+"/etc/filetest/app.conf", "-"); got != "edited\n" {
				t.Errorf("after edit: %q", got)
			}
			// Owners inside the container are the container's ids; on the host they are shifted.
			if name == "web1" {
				if got := mustLite(t, d, "exec", "web1", "--", "stat", "-c", "%u:%g:%a", "/etc/filetest/app.conf"); strings.TrimSpace(got) != "1000:1001:640" {
					t.Errorf("owner and mode inside: %q, want 1000:1001:640", got)
				}
			} else {
				st, err := os.Stat(filepath.Join(d.Dir, "containers", name, "upper", "etc", "filetest", "app.conf"))
				if err != nil || fmt.Sprint(st.Sys()) == "" {
					t.Fatal(err)
				}
				// The host ids are the container's root ids (whatever range this host gives
				// lited) plus 1000 and 1001.
				up, err := os.Stat(filepath.Join(d.Dir, "containers", name, "upper"))
				if err != nil {
					t.Fatal(err)
				}
				sys := up.Sys().(*syscall.Stat_t)
				want := fmt.Sprintf("%d:%d", sys.Uid+1000, sys.Gid+1001)
				if got := statOwner(st); got != want || st.Mode().Perm() != 0o640 || sys.Uid == 0 {
					t.Errorf("host owner %s mode %v, want %s 0640 (container root %d)", got, st.Mode().Perm(), want, sys.Uid)
				}
			}
			mustLite(t, d, "file", "delete", name+"/etc/filetest/app.conf", name+"/etc/filetest")
			if _, stderr, code := d.Lite("file", "pull", name+"/etc/filetest/app.conf", "-"); code == 0 || !strings.Contains(stderr, "not found") {
				t.Errorf("pull after delete: exit %d %q", code, stderr)
			}
		})
	}
	if m := strayMounts(d.Dir); len(m) > 0 {
		t.Errorf("file transfer left mounts: %v", m)
	}
}

// TestFileSymlinkEscapes plants symlinks to host paths inside containers and checks that no
// pull, push or delete through them reads or writes outside the container's rootfs.
func TestFileSymlinkEscapes(t *testing.T) {
	d := sharedWeb1(t)
	deleteOnCleanup(t, d, "file-esc")
	mustLite(t, d, "init", "debian/12", "file-esc")
	host, err := os.MkdirTemp("/tmp", "litefile-host-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(host) })
	secret := filepath.Join(host, "secret")
	if err := os.WriteFile(secret, []byte("HOSTSECRET\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shadow := fileSum("/etc/shadow")
	// The symlinks are made with the file API itself (symlink pushes), in both containers.
	links := t.TempDir()
	for link, target := range map[string]string{"esc": "/", "hostdir": host, "x": "/etc/shadow", "up": "../../../../../../.."} {
		if err := os.Symlink(target, filepath.Join(links, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"web1", "file-esc"} {
		t.Cleanup(func() { d.Lite("exec", "web1", "--", "rm", "-rf", "/tmp/esc") })
		mustLite(t, d, "file", "push", "-p", filepath.Join(links, "esc"), filepath.Join(links, "hostdir"), filepath.Join(links, "x"), filepath.Join(links, "up"), name+"/tmp/esc/")
		local := filepath.Join(t.TempDir(), "pulled")
		for _, args := range [][]string{
			{"file", "pull", name + "/tmp/esc/hostdir/secret", local},
			{"file", "pull", name + "/tmp/esc/esc" + secret, local},
			{"file", "pull", name + "/tmp/esc/up" + secret, local},
			{"file", "pull", name + "/tmp/../.." + secret, local},
			{"file", "pull", name + "/proc/1/root" + secret, local},
			{"file", "push", "/etc/hostname", name + "/tmp/esc/hostdir/new"},
			{"file", "push", "/etc/hostname", name + "/tmp/esc/esc" + host + "/new"},
			{"file", "push", "/etc/hostname", name + "/tmp/esc/up" + host + "/new"},
			{"file", "push", "/etc/hostname", name + "/tmp/esc/x"},
			{"file", "push", "/etc/hostname", name + "/../../" + host + "/new"},
			{"file", "delete", name + "/tmp/esc/hostdir/secret"},
			{"file", "delete", name + "/tmp/esc/up" + secret},
		} {
			if stdout, stderr, code := d.Lite(args...); code == 0 || strings.Contains(stdout, "HOSTSECRET") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("%s: lite %s: exit %d, stdout %q, stderr %q; want a one-line refusal", name, strings.Join(args, " "), code, stdout, stderr)
			}
		}
		if b, err := os.ReadFile(local); err == nil {
			t.Errorf("%s: a pull wrote %q", name, b)
		}
		// Pulling the symlink itself gives the link, never the host file behind it.
		if got := mustLite(t, d, "file", "pull", name+"/tmp/esc/x", "-"); got != "/etc/shadow" {
			t.Errorf("%s: pull of a symlink: %q, want its target", name, got)
		}
	}
	// A symlink swapped in while pushes run: the container flips /tmp/sw between a directory
	// and a link to the host directory.
	mustLite(t, d, "exec", "web1", "--", "sh", "-c",
		"timeout 20 sh -c 'while :; do rm -rf /tmp/sw; mkdir /tmp/sw; rm -rf /tmp/sw; ln -s "+host+" /tmp/sw; done' >/dev/null 2>&1 &")
	for i := 0; i < 40; i++ {
		d.Lite("file", "push", "/etc/hostname", fmt.Sprintf("web1/tmp/sw/race%d", i))
	}
	entries, _ := os.ReadDir(host)
	if len(entries) != 1 || fileSum("/etc/shadow") != shadow {
		t.Errorf("the host changed: %s holds %v; /etc/shadow same: %v", host, entries, fileSum("/etc/shadow") == shadow)
	}
	if b, _ := os.ReadFile(secret); string(b) != "HOSTSECRET\n" {
		t.Errorf("host secret changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(host, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a push escaped: %v", err)
	}
	if m := strayMounts(d.Dir); len(m) > 0 {
		t.Errorf("file transfer left mounts: %v", m)
	}
}

// statOwner returns "uid:gid" of a host file.
func statOwner(st os.FileInfo) string {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", s.Uid, s.Gid)
	}
	return ""
}
