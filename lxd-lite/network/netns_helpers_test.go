package network

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Helpers of the namespace tests: sockets made inside a named network namespace, raw
// datagrams, and the ip command for the test's own setup.

// vxlanBroadcast builds a VXLAN payload (header and inner Ethernet frame) carrying a UDP
// broadcast to 10.98.0.255:port.
func vxlanBroadcast(vni int, port int, payload []byte) []byte {
	udp := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:], 5555)
	binary.BigEndian.PutUint16(udp[2:], uint16(port))
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp))) // checksum 0: none (IPv4)
	copy(udp[8:], payload)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, unix.IPPROTO_UDP
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
	copy(ip[12:], []byte{10, 98, 0, 99})
	copy(ip[16:], []byte{10, 98, 0, 255})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	eth := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x99, 0x08, 0x00}, ip...)
	hdr := []byte{0x08, 0, 0, 0, byte(vni >> 16), byte(vni >> 8), byte(vni), 0}
	return append(append(hdr, eth...), udp...)
}

// queued reports whether a datagram waits on c, without waiting for one.
func queued(t *testing.T, c *net.UDPConn) bool {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var rerr error
	if err := raw.Control(func(fd uintptr) { n, _, rerr = unix.Recvfrom(int(fd), make([]byte, 64), unix.MSG_DONTWAIT) }); err != nil {
		t.Fatal(err)
	}
	if rerr != nil && rerr != unix.EAGAIN {
		t.Fatalf("read: %v", rerr)
	}
	return rerr == nil && n > 0
}

// inNetns runs fn on a locked thread switched into the named namespace; sockets made there
// stay in it.
func inNetns(name string, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	target, err := netns.GetFromName(name)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return err
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			panic(fmt.Sprintf("cannot return to the original network namespace: %v", err))
		}
	}()
	return fn()
}

func listenUDPIn(t *testing.T, nsName, addr string) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := inNetns(nsName, func() error {
		a, err := net.ResolveUDPAddr("udp4", addr)
		if err == nil {
			c, err = net.ListenUDP("udp4", a)
		}
		return err
	})
	if err != nil {
		t.Fatalf("listen %s in %s: %v", addr, nsName, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func setDF(t *testing.T, c *net.UDPConn) {
	t.Helper()
	raw, err := c.SyscallConn()
	if err == nil {
		err = raw.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO)
		})
	}
	if err != nil {
		t.Fatalf("set DF: %v", err)
	}
}

func setBroadcast(c *net.UDPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1) }); err != nil {
		return err
	}
	return serr
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dhcpAddress asks for an address by DHCP from inside namespace nsName, as a client with MAC
// mac (a DISCOVER with rapid commit, answered at once with an ACK, or an OFFER), and returns
// the address offered.
func dhcpAddress(t *testing.T, nsName, mac string) string {
	t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	ipCmd(t, "-n", nsName, "route", "replace", "default", "dev", "eth0") // a route for 255.255.255.255
	c := listenUDPIn(t, nsName, "0.0.0.0:68")
	if err := setBroadcast(c); err != nil {
		t.Fatal(err)
	}
	xid := make([]byte, 4)
	_, _ = rand.Read(xid)
	msg := make([]byte, 240)
	msg[0], msg[1], msg[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, 6-byte MAC
	copy(msg[4:], xid)
	msg[10] = 0x80 // broadcast the answer: the client has no address yet
	copy(msg[28:], hw)
	copy(msg[236:], []byte{99, 130, 83, 99})
	msg = append(msg, 53, 1, 1, 80, 0, 55, 3, 1, 3, 6, 255) // DISCOVER, rapid commit, wanted options
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.WriteTo(msg, &net.UDPAddr{IP: net.IPv4bcast, Port: 67}); err != nil {
			t.Fatalf("send DHCP discover: %v", err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 1500)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				break
			}
			if n >= 240 && buf[0] == 2 && string(buf[4:8]) == string(xid) {
				return net.IP(buf[16:20]).String()
			}
		}
	}
	t.Fatalf("no DHCP answer in %s for %s", nsName, mac)
	return ""
}
