package test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestLaunch: `lite launch debian/12 web1` gives a running, unprivileged system container whose
// systemd reaches "running" with ssh and cron active and the hostname set from the template.
func TestLaunch(t *testing.T) {
	d := sharedWeb1(t) // launches web1 and waits for systemd to be running
	if web1Launch.code != 0 {
		t.Fatalf("lite launch debian/12 web1: exit %d", web1Launch.code)
	}

	table := mustLite(t, d, "list")
	row := regexp.MustCompile(`(?m)^\|\s*web1\s*\|.*$`).FindString(table)
	if row == "" || !strings.Contains(row, "| RUNNING ") {
		t.Errorf("lite list: no RUNNING row for web1:\n%s", table)
	}

	out := mustLite(t, d, "exec", "web1", "--", "systemctl", "is-active", "ssh", "cron")
	if out != "active\nactive\n" {
		t.Errorf("systemctl is-active ssh cron: %q, want active twice", out)
	}
	if out := mustLite(t, d, "exec", "web1", "--", "cat", "/etc/hostname"); out != "web1\n" {
		t.Errorf("/etc/hostname in web1: %q, want \"web1\\n\"", out)
	}
	if out := mustLite(t, d, "exec", "web1", "--", "hostname"); out != "web1\n" {
		t.Errorf("hostname in web1: %q, want \"web1\\n\"", out)
	}
	if out := mustLite(t, d, "exec", "web1", "--", "id", "-u"); out != "0\n" {
		t.Errorf("id -u in web1: %q, want 0", out)
	}

	// Root inside, an unprivileged uid outside: the container's init as the host sees it.
	pid := initPid(t, d, "web1")
	info := mustLite(t, d, "info", "web1")
	m := regexp.MustCompile(`(?m)^PID:\s*(\d+)\s*$`).FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("lite info web1: no PID line:\n%s", info)
	}
	if infoPid, _ := strconv.Atoi(m[1]); infoPid != pid {
		t.Errorf("lite info web1 PID %d != lite list -c p PID %d", infoPid, pid)
	}
	if !procAlive(pid) {
		t.Fatalf("init pid %d of web1 is not alive on the host", pid)
	}
	if uid, base := procUID(t, pid), idmapBase(t, d, "web1"); uid != base {
		t.Errorf("web1's init (pid %d) runs as host uid %d, want %d, the base of its id map (unprivileged container)", pid, uid, base)
	}
	// And it is that container's init: pid 1 in its own pid namespace, running systemd.
	if out := mustLite(t, d, "exec", "web1", "--", "cat", "/proc/1/comm"); out != "systemd\n" {
		t.Errorf("pid 1 in web1 is %q, want systemd", out)
	}
}
