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
	deleteImageOnCleanup(t, d, "img-cloudinit") // after the container (cleanups run last first)
	deleteOnCleanup(t, d, "cinit1")
	start := time.Now()
	// python3-cffi-backend is named because debootstrap cannot resolve the virtual packages
	// (python3-cffi-backend-api-*) python3-cryptography depends on.
	mustLite(t, d, "image", "build", "debian/12", "--include", "cloud-init,python3-cffi-backend", "--alias", "img-cloudinit")
	t.Logf("build (or cache hit) of debian/12 with cloud-init: %s", time.Since(start).Round(time.Second))
	// locale: the image generates no en_US.UTF-8, cloud-init's default; C.UTF-8 is in libc.
	userData := "#cloud-config\nlocale: C.UTF-8\n" +
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
		log, _, _ := d.Lite("exec", "cinit1", "--", "sh", "-c",
			"cloud-init status --long; grep -E -i -B2 -A8 'WARNING|ERROR|Traceback' /var/log/cloud-init.log | tail -n 80")
		t.Fatalf("cloud-init status: %q; log:\n%s", status, log)
	}
	if out := mustLite(t, d, "exec", "cinit1", "--", "cat", "/root/from-runcmd", "/root/written"); out != "ran\nfrom write_files" {
		t.Errorf("files from the user data: %q", out)
	}
	if out := mustLite(t, d, "exec", "cinit1", "--", "cloud-init", "query", "v1.subplatform"); !strings.Contains(out, "/var/lib/cloud/seed/nocloud-net") {
		t.Errorf("cloud-init read its data from %q, not lite's NoCloud seed", out)
	}
	if out := mustLite(t, d, "exec", "cinit1", "--", "cloud-init", "query", "instance_id"); strings.TrimSpace(out) != "cinit1" {
		t.Errorf("cloud-init instance id %q, want cinit1 (from the seed's meta-data)", out)
	}
	waitRunning(t, d, "cinit1")
}
