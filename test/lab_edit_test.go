package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// labEdits: an edit of a node's profiles is applied live by up; one of its nics or image is
// shown and left alone (it needs a recreate) until up --recreate; a reset keeps the edits.
func labEdits(t *testing.T, d *Daemon, f *labFixture) {
	prof := f.name + "-p"
	mustLite(t, d, "profile", "create", prof)
	mustLite(t, d, "profile", "set", prof, "limits.processes=500")
	src, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	r1Old := "  r1: {nics: {eth0: {network: back}}}\n"
	r1New := "  r1: {packages: [python3], nics: {eth0: {network: back, ipv4: " + f.back + "30}}}\n"
	text := strings.Replace(string(src), "    groups: [web]\n", "    groups: [web]\n    profiles: [default, "+prof+"]\n", 1)
	text = strings.Replace(text, r1Old, r1New, 1)
	if !strings.Contains(text, prof) || !strings.Contains(text, r1New) {
		t.Fatalf("the edit did not apply to the fixture:\n%s", text)
	}
	edited := filepath.Join(f.dir, "edits.yaml")
	if err := os.WriteFile(edited, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	webPid, r1Pid := initPid(t, d, "web1"), initPid(t, d, "r1")
	wantSkip := "! node r1 (nic eth0 back:dhcp -> back:" + f.back + "30; image debian/12 -> debian/12 +python3: needs a recreate (lite lab up --recreate r1))"
	out := mustLite(t, d, "lab", "diff", "-f", edited)
	if !strings.Contains(out, "~ node web1 (profiles default -> default,"+prof+")") || !strings.Contains(out, wantSkip) ||
		strings.Contains(out, "is up to date") || strings.Contains(out, "+ ") {
		t.Fatalf("diff after editing web's profiles and r1's nic and image:\n%s", out)
	}
	// Without --recreate: profiles live, r1 untouched, and up says what it left.
	_, stderr, code := d.Lite("lab", "up", "-f", edited)
	if code != 0 || !strings.Contains(stderr, "not applied: nic eth0") {
		t.Fatalf("up of the edit: exit %d\n%s", code, stderr)
	}
	for _, row := range listCSV(t, d, "nP", "web1") {
		if got := strings.Join(row[1:], ""); got != "default\n"+prof {
			t.Errorf("web1 profiles after up: %q", got)
		}
	}
	if got := initPid(t, d, "web1"); got != webPid {
		t.Errorf("a profile change restarted web1: init pid %d -> %d", webPid, got)
	}
	if got := initPid(t, d, "r1"); got != r1Pid {
		t.Errorf("up without --recreate restarted r1: init pid %d -> %d", r1Pid, got)
	}
	// With --recreate r1: made again from the new image with the new address, provisioned,
	// and its link back.
	mustLite(t, d, "lab", "up", "-f", edited, "--recreate", "r1")
	out = mustLite(t, d, "exec", "r1", "--", "sh", "-c", "ip -4 -o addr show dev eth0; test -x /usr/bin/python3 && echo python; ping -c1 -W5 10.0.12.2 >/dev/null && echo linked")
	if !strings.Contains(out, "inet "+f.back+"30/24") || !strings.Contains(out, "python\nlinked\n") {
		t.Errorf("r1 after up --recreate:\n%s", out)
	}
	if out := mustLite(t, d, "lab", "diff", "-f", edited); !strings.Contains(out, "is up to date") {
		t.Errorf("diff after up --recreate:\n%s", out)
	}
	// A reset restores the files of @provisioned but keeps the file's current profiles.
	mustLite(t, d, "lab", "reset", f.name)
	if out := mustLite(t, d, "lab", "diff", "-f", edited); !strings.Contains(out, "is up to date") {
		t.Errorf("diff after a reset of the edited lab:\n%s", out)
	}
	// Back to the fixture for the next steps: r1 made again as it was, web's profiles live.
	mustLite(t, d, "lab", "up", "-f", f.file, "--recreate", "r1")
	if out := mustLite(t, d, "lab", "diff", "-f", f.file); !strings.Contains(out, "is up to date") {
		t.Errorf("diff after going back to the fixture:\n%s", out)
	}
	mustLite(t, d, "profile", "delete", prof)
	if _, stderr, code := d.Lite("lab", "up", "-f", f.file, "--recreate", "nope"); code == 0 || !strings.Contains(stderr, `lab `+f.name+` has no node "nope"`) {
		t.Errorf("up --recreate of an unknown node: exit %d: %s", code, stderr)
	}
}
