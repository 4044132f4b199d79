package test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// icmpPacket is one IPv4 ICMP packet of a pcap file.
type icmpPacket struct {
	src, dst netip.Addr
	typ      byte // 8 echo request, 0 echo reply
}

// readPcapICMP parses a pcap file (Ethernet, either byte order) and returns its IPv4 ICMP
// packets. Anything that is not a well-formed pcap is an error; so is a last record cut
// short, which a file still being written may have.
func readPcapICMP(path string) ([]icmpPacket, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, fmt.Errorf("%s: %d bytes, shorter than a pcap header", path, len(b))
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%s: not a pcap file (magic %x)", path, b[:4])
	}
	if lt := bo.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("%s: link type %d, want 1 (Ethernet)", path, lt)
	}
	var out []icmpPacket
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			return out, fmt.Errorf("%s: truncated record header at %d", path, off)
		}
		incl := int(bo.Uint32(b[off+8:]))
		pkt := b[off+16:]
		if incl > len(pkt) {
			return out, fmt.Errorf("%s: truncated packet at %d", path, off)
		}
		pkt, off = pkt[:incl], off+16+incl
		if len(pkt) < 14+20+1 || binary.BigEndian.Uint16(pkt[12:]) != 0x0800 {
			continue
		}
		ip := pkt[14:]
		hl := int(ip[0]&0x0f) * 4
		if ip[9] != 1 || len(ip) <= hl {
			continue
		}
		out = append(out, icmpPacket{src: netip.AddrFrom4([4]byte(ip[12:16])), dst: netip.AddrFrom4([4]byte(ip[16:20])), typ: ip[hl]})
	}
	return out, nil
}

// hasEcho reports whether packets hold an echo request from a to b and its reply.
func hasEcho(packets []icmpPacket, a, b string) bool {
	req, rep := false, false
	for _, p := range packets {
		req = req || p.src.String() == a && p.dst.String() == b && p.typ == 8
		rep = rep || p.src.String() == b && p.dst.String() == a && p.typ == 0
	}
	return req && rep
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCapture runs `lite lab capture ARGS...` in the background and returns once it says it
// captures; the process is killed at cleanup if still running.
func startCapture(t *testing.T, d *Daemon, args ...string) (*exec.Cmd, *syncBuffer, <-chan error) {
	t.Helper()
	cmd := exec.Command(liteBin, append([]string{"lab", "capture"}, args...)...)
	cmd.Env = append(os.Environ(), "LITE_DIR="+d.Dir)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // reaped by the goroutine above
	eventually(t, 60*time.Second, "lite lab capture listens", func() (bool, string) {
		select {
		case err := <-done:
			t.Fatalf("lab capture %v ended early: %v\n%s", args, err, stderr)
		default:
		}
		return strings.Contains(stderr.String(), "Capturing on "), stderr.String()
	})
	return cmd, stderr, done
}

// labCapture: capture on a link and on a node's nic, as pcap, and refuse bad targets.
func labCapture(t *testing.T, d *Daemon, f *labFixture) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{f.name, "nope:eth0"}, "has no node nope"},
		{[]string{f.name, "r1:eth9"}, "node r1 has no interface eth9"},
		{[]string{f.name, "r1"}, "want NODE:IFACE"},
		{[]string{f.name, "r1:eth1", "-w", "-", "--", "-Z", "root"}, "can't parse filter expression"},
	} {
		out, stderr, code := d.Lite(append([]string{"lab", "capture"}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) || out != "" {
			t.Errorf("lab capture %v: exit %d, stdout %q, stderr %q; want a failure saying %q", c.args, code, out, stderr, c.want)
		}
	}
	// The link by its name: it ends by itself after the 3 requests and 3 replies.
	dir := t.TempDir()
	linkPcap := filepath.Join(dir, "link.pcap")
	_, stderr, done := startCapture(t, d, f.name, "r1:eth1-lb:eth1", "-w", linkPcap, "--count", "6", "--", "icmp")
	mustLite(t, d, "exec", "r1", "--", "ping", "-c3", "-i0.2", "-W5", "10.0.12.2")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("lab capture of the link: %v\n%s", err, stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("lab capture --count 6 did not end after 3 pings\n%s", stderr)
	}
	p, err := readPcapICMP(linkPcap)
	if err != nil || len(p) != 6 || !hasEcho(p, "10.0.12.1", "10.0.12.2") {
		t.Errorf("link capture: %v: %d ICMP packets %v, want the 3 echoes between 10.0.12.1 and 10.0.12.2", err, len(p), p)
	}
	// A nic on a lab network, from the lab file, to standard output, stopped with Ctrl-C.
	nicPcap := filepath.Join(dir, "nic.pcap")
	out, err := os.Create(nicPcap)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(liteBin, "lab", "capture", "-f", f.file, "web1:eth0")
	cmd.Env, cmd.Stdout = append(os.Environ(), "LITE_DIR="+d.Dir), out
	nicErr := &syncBuffer{}
	cmd.Stderr = nicErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	eventually(t, 60*time.Second, "capture on web1:eth0 listens", func() (bool, string) {
		return strings.Contains(nicErr.String(), "Capturing on web1:eth0 on the host (veth "), nicErr.String()
	})
	veth := strings.Fields(strings.SplitN(nicErr.String(), "(veth ", 2)[1])[0]
	lb := f.front + "10"
	mustLite(t, d, "exec", "web1", "--", "ping", "-c2", "-i0.2", "-W5", lb)
	web1 := strings.Fields(mustLite(t, d, "exec", "web1", "--", "sh", "-c", "ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1"))
	if len(web1) != 1 {
		t.Fatalf("web1 eth0 address: %v", web1)
	}
	eventually(t, 30*time.Second, "the pings are in the nic capture", func() (bool, string) {
		p, err := readPcapICMP(nicPcap)
		return hasEcho(p, web1[0], lb), fmt.Sprint(p, err)
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("lab capture stopped with Ctrl-C: %v\n%s", err, nicErr)
	}
	if _, err := readPcapICMP(nicPcap); err != nil {
		t.Errorf("nic capture after Ctrl-C: %v", err)
	}
	// Ending the stream ends tcpdump on the host: nothing keeps listening on the veth.
	eventually(t, 30*time.Second, "no tcpdump left on "+veth, func() (bool, string) {
		ps, _ := exec.Command("pgrep", "-af", "tcpdump -i "+veth+" ").CombinedOutput()
		return strings.TrimSpace(string(ps)) == "", string(ps)
	})
}
