// Command dhcpprobe is pushed into a container by the end-to-end tests to act as a hostile
// DHCP client: it sends DHCPDISCOVERs on an interface, each with a client hardware address
// (chaddr) of its choice, and counts the offers that come back. It is built static (no cgo)
// because the container's image has no DHCP client and no scripting language.
//
//	dhcpprobe -i eth0 -n 40 -request # 40 random chaddrs, each taking its lease (a pool drain)
//	dhcpprobe -i eth0 -n 1 -own      # DISCOVER only, for the interface's own MAC
//
// It prints "offers N acks A of M" and exits 0 unless it could not send.
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
	wait := flag.Duration("wait", 2*time.Second, "how long to wait for each reply")
	request := flag.Bool("request", false, "answer each offer with a REQUEST, so the server commits a lease")
	flag.Parse()
	if err := run(probe{ifname: *ifname, n: *n, own: *own, request: *request, wait: *wait}); err != nil {
		fmt.Fprintln(os.Stderr, "dhcpprobe:", err)
		os.Exit(1)
	}
}

// probe is what one run does.
type probe struct {
	ifname       string
	n            int
	own, request bool
	wait         time.Duration
}

var bcast = &syscall.SockaddrInet4{Port: 67, Addr: [4]byte{255, 255, 255, 255}}

func run(pr probe) error {
	ifc, err := net.InterfaceByName(pr.ifname)
	if err != nil {
		return err
	}
	fd, err := openSocket(pr.ifname)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	offers, acks := 0, 0
	for i := 0; i < pr.n; i++ {
		mac := ifc.HardwareAddr
		if !pr.own {
			mac = make(net.HardwareAddr, 6)
			_, _ = rand.Read(mac)
			mac[0] = mac[0]&^1 | 2 // unicast, locally administered
		}
		xid := make([]byte, 4)
		_, _ = rand.Read(xid)
		if err := syscall.Sendto(fd, message(1, mac, xid, nil), 0, bcast); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		offer, err := awaitReply(fd, xid, 2, pr.wait)
		if err != nil {
			return err
		}
		if offer == nil {
			continue
		}
		offers++
		if !pr.request {
			continue
		}
		// REQUEST the offered address from the offering server: option 50 and option 54.
		extra := append([]byte{50, 4}, offer[16:20]...)
		if sid := option(offer, 54); len(sid) == 4 {
			extra = append(extra, 54, 4)
			extra = append(extra, sid...)
		}
		if err := syscall.Sendto(fd, message(3, mac, xid, extra), 0, bcast); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		ack, err := awaitReply(fd, xid, 5, pr.wait)
		if err != nil {
			return err
		}
		if ack != nil {
			acks++
		}
	}
	fmt.Printf("offers %d acks %d of %d\n", offers, acks, pr.n)
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

// message builds a DHCP message of type typ (1 DISCOVER, 3 REQUEST) for chaddr mac with the
// broadcast flag set, so the reply comes back to the broadcast address whatever the chaddr.
func message(typ byte, mac net.HardwareAddr, xid, extra []byte) []byte {
	p := make([]byte, 240, 320)
	p[0], p[1], p[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, hlen
	copy(p[4:8], xid)
	binary.BigEndian.PutUint16(p[10:12], 0x8000) // broadcast flag
	copy(p[28:34], mac)
	copy(p[236:240], []byte{99, 130, 83, 99}) // magic cookie
	p = append(p, 53, 1, typ)                 // DHCP message type
	p = append(p, 61, 7, 1)                   // client identifier: type 1 + the chaddr
	p = append(p, mac...)
	p = append(p, extra...)
	p = append(p, 55, 2, 1, 3, 255) // parameter request list (mask, router); end
	return p
}

// awaitReply reads until a BOOTREPLY for xid of DHCP message type typ (2 OFFER, 5 ACK)
// arrives, or wait passes (nil).
func awaitReply(fd int, xid []byte, typ byte, wait time.Duration) ([]byte, error) {
	deadline := time.Now().Add(wait)
	buf := make([]byte, 1500)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		tv := syscall.NsecToTimeval(left.Nanoseconds())
		if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
			return nil, err
		}
		m, _, err := syscall.Recvfrom(fd, buf, 0)
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		p := buf[:m]
		if len(p) >= 240 && p[0] == 2 && string(p[4:8]) == string(xid) {
			if t := option(p, 53); len(t) == 1 && t[0] == typ {
				return append([]byte(nil), p...), nil
			}
		}
	}
}

// option returns the value of DHCP option code in message p (nil: absent).
func option(p []byte, code byte) []byte {
	if len(p) < 240 {
		return nil
	}
	o := p[240:]
	for len(o) > 0 && o[0] != 255 {
		if o[0] == 0 { // pad
			o = o[1:]
			continue
		}
		if len(o) < 2 || len(o) < 2+int(o[1]) {
			return nil
		}
		if o[0] == code {
			return o[2 : 2+int(o[1])]
		}
		o = o[2+int(o[1]):]
	}
	return nil
}
