package test

import (
	"strings"
	"testing"
	"time"
)

// TestCloudInitImage: `lite image build debian/12 --include cloud-init` bakes cloud-init and
// LXD's NoCloud seed templates into an image; a container launched from it with
// cloud-init.user-data (and the older user.meta-data) runs cloud-init at boot, which applies
// the user data (runcmd writes a file, write_files another) and names itself from meta-data.
func TestCloudInitImage(t *testing.T) {
	d := sharedDaemon(t)
	deleteOnCleanup(t, d, "cinit1")
	deleteImageOnCleanup(t, d, "img-cloudinit")
	start := time.Now()
	// python3-cffi-backend is named because debootstrap cannot resolve the virtual packages
	// (python3-cffi-backend-api-*) python3-cryptography depends on.
	mustLite(t, d, "image", "build", "debian/12", "--include", "cloud-init,python3-cffi-backend", "--alias", "img-cloudinit")
	t.Logf("build (or cache hit) of debian/12 with cloud-init: %s", time.Since(start).Round(time.Second))
	userData := "#cloud-config\n" +
		"write_files:\n  - path: /root/written\n    content: from write_files\n" +
		"runcmd:\n  - [sh, -c, 'echo ran > /root/from-runcmd']\n"
	mustLite(t, d, "launch", "img-cloudinit", "cinit1", "-c", "cloud-init.user-data="+userData)
	deadline := time.Now().Add(3 * time.Minute)
	var status string
	for time.Now().Before(deadline) {
		out, _, _ := d.Lite("exec", "cinit1", "--", "cloud-init", "status")
		if status = strings.TrimSpace(out); strings.Contains(status, "done") || strings.Contains(status, "error") {
			break
		}
		time.Sleep(time.Second)
	}
	if !strings.Contains(status, "status: done") {
		log, _, _ := d.Lite("exec", "cinit1", "--", "sh", "-c", "tail -n 40 /var/log/cloud-init.log")
		t.Fatalf("cloud-init status: %q; log:\n%s", status, log)
	}
	if out := mustLite(t, d, "exec", "cinit1", "--", "cat", "/root/from-runcmd", "/root/written"); out != "ran\nfrom write_files" {
		t.Errorf("files from the user data: %q", out)
	}
	if out := mustLite(t, d, "exec", "cinit1", "--", "cloud-init", "query", "ds"); !strings.Contains(strings.ToLower(out), "nocloud") {
		out2, _, _ := d.Lite("exec", "cinit1", "--", "cat", "/run/cloud-init/instance-data.json")
		t.Logf("cloud-init query ds: %q; instance data: %.400s", out, out2)
	}
	if out := mustLite(t, d, "exec", "cinit1", "--", "cloud-init", "query", "instance_id"); strings.TrimSpace(out) != "cinit1" {
		t.Errorf("cloud-init instance id %q, want cinit1 (from the seed's meta-data)", out)
	}
	waitRunning(t, d, "cinit1")
}
