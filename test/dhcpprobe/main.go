// Command dhcpprobe is pushed into a container by the end-to-end tests to act as a hostile
// DHCP client: it sends DHCPDISCOVERs on an interface, each with a client hardware address
// (chaddr) of its choice, and counts the offers that come back. It is built static (no cgo)
// because the container's image has no DHCP client and no scripting language.
//
//	dhcpprobe -i eth0 -n 40          # 40 random chaddrs (a pool-draining flood)
//	dhcpprobe -i eth0 -n 1 -own      # the interface's own MAC
//
// It prints "offers N of M" and exits 0 unless it could not send.
package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

func main() {
	ifname := flag.String("i", "eth0", "interface to send on")
	n := flag.Int("n", 1, "number of DISCOVERs, each with its own chaddr and xid")
	own := flag.Bool("own", false, "use the interface's own MAC as chaddr (else random ones)")
	wait := flag.Duration("wait", 2*time.Second, "how long to wait for each offer")
	flag.Parse()
	if err := run(*ifname, *n, *own, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "dhcpprobe:", err)
		os.Exit(1)
	}
}

func run(ifname string, n int, own bool, wait time.Duration) error {
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return err
	}
	fd, err := openSocket(ifname)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	offers := 0
	for i := 0; i < n; i++ {
		mac := ifc.HardwareAddr
		if !own {
			mac = make(net.HardwareAddr, 6)
			_, _ = rand.Read(mac)
			mac[0] = mac[0]&^1 | 2 // unicast, locally administered
		}
		xid := make([]byte, 4)
		_, _ = rand.Read(xid)
		if err := syscall.Sendto(fd, discover(mac, xid), 0, &syscall.SockaddrInet4{Port: 67, Addr: [4]byte{255, 255, 255, 255}}); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		ok, err := awaitOffer(fd, xid, wait)
		if err != nil {
			return err
		}
		if ok {
			offers++
		}
	}
	fmt.Printf("offers %d of %d\n", offers, n)
	return nil
}

// openSocket is a UDP socket on port 68 of one interface that may broadcast; SO_REUSEADDR lets
// it sit beside the system's own DHCP client.
func openSocket(ifname string) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, syscall.IPPROTO_UDP)
	if err != nil {
		return -1, err
	}
	for _, o := range []int{syscall.SO_REUSEADDR, syscall.SO_BROADCAST, 0xf /* SO_REUSEPORT */} {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, o, 1); err != nil {
			syscall.Close(fd)
			return -1, err
		}
	}
	if err := syscall.BindToDevice(fd, ifname); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: 68}); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}

// discover builds a DHCPDISCOVER for chaddr mac with the broadcast flag set, so the offer comes
// back to the broadcast address whatever the chaddr.
func discover(mac net.HardwareAddr, xid []byte) []byte {
	p := make([]byte, 240, 300)
	p[0], p[1], p[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, hlen
	copy(p[4:8], xid)
	binary.BigEndian.PutUint16(p[10:12], 0x8000) // broadcast flag
	copy(p[28:34], mac)
	copy(p[236:240], []byte{99, 130, 83, 99}) // magic cookie
	p = append(p, 53, 1, 1)                   // DHCP message type: DISCOVER
	p = append(p, 61, 7, 1)                   // client identifier: type 1 + the chaddr
	p = append(p, mac...)
	p = append(p, 55, 2, 1, 3, 255) // parameter request list (mask, router); end
	return p
}

// awaitOffer reads until an OFFER (BOOTREPLY, message type 2) for xid arrives or wait passes.
func awaitOffer(fd int, xid []byte, wait time.Duration) (bool, error) {
	deadline := time.Now().Add(wait)
	buf := make([]byte, 1500)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		tv := syscall.NsecToTimeval(left.Nanoseconds())
		if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
			return false, err
		}
		m, _, err := syscall.Recvfrom(fd, buf, 0)
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return false, err
		}
		if isOffer(buf[:m], xid) {
			return true, nil
		}
	}
}

func isOffer(p, xid []byte) bool {
	if len(p) < 240 || p[0] != 2 || string(p[4:8]) != string(xid) {
		return false
	}
	for o := p[240:]; len(o) >= 2 && o[0] != 255; o = o[2+int(o[1]):] {
		if o[0] == 0 { // pad
			o = o[1:]
			if len(o) < 2 {
				break
			}
		}
		if o[0] == 53 && o[1] == 1 && len(o) >= 3 {
			return o[2] == 2
		}
		if len(o) < 2+int(o[1]) {
			break
		}
	}
	return false
}
