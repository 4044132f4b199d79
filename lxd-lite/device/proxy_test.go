package device

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"lite/client/api"
	"lite/lxd-lite/instance"
	"lite/test/roottest"
)

func freePort(t *testing.T, proto string) int {
	t.Helper()
	if proto == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestProxyForwards runs the proxy against servers in this process's own network namespace
// (the "container" is this test: its pid names the namespace DialIn enters).
func TestProxyForwards(t *testing.T) {
	roottest.Require(t, "it enters a network namespace")
	tcpSrv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcpSrv.Close()
	go func() {
		for {
			c, err := tcpSrv.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	udpSrv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udpSrv.Close()
	go func() {
		b := make([]byte, 1500)
		for {
			n, from, err := udpSrv.ReadFrom(b)
			if err != nil {
				return
			}
			_, _ = udpSrv.WriteTo(b[:n], from)
		}
	}()

	p := &Proxy{Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Pid: func(context.Context, string) (int, error) { return os.Getpid(), nil }}
	dc := instance.DeviceContext{Name: "c1"}
	tcpPort, udpPort := freePort(t, "tcp"), freePort(t, "udp")
	tcpDev := map[string]string{"type": "proxy", "listen": fmt.Sprintf("tcp:127.0.0.1:%d", tcpPort), "connect": "tcp:" + tcpSrv.Addr().String()}
	udpDev := map[string]string{"type": "proxy", "listen": fmt.Sprintf("udp:127.0.0.1:%d", udpPort), "connect": "udp:" + udpSrv.LocalAddr().String()}
	for n, d := range map[string]map[string]string{"t": tcpDev, "u": udpDev} {
		if err := p.Serve(context.Background(), dc, n, d); err != nil {
			t.Fatal(err)
		}
		defer p.Stop(context.Background(), dc, n, d)
	}
	for _, proto := range []string{"tcp", "udp"} {
		port := tcpPort
		if proto == "udp" {
			port = udpPort
		}
		c, err := net.Dial(proto, fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("ping-" + proto)); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 64)
		n, err := c.Read(b)
		if err != nil || string(b[:n]) != "ping-"+proto {
			t.Errorf("%s echo through the proxy: %q, %v", proto, b[:n], err)
		}
		c.Close()
	}

	// A second listener on the same port is a clear conflict, and leaves nothing open.
	err = p.Serve(context.Background(), instance.DeviceContext{Name: "c2"}, "t", tcpDev)
	if !errors.Is(err, api.ErrConflict) {
		t.Errorf("port in use: %v, want ErrConflict", err)
	}
	// Stop closes the listener: the port is free again.
	if err := p.Stop(context.Background(), dc, "t", tcpDev); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort))
	if err != nil {
		t.Errorf("port still held after Stop: %v", err)
	} else {
		l.Close()
	}
}

func TestProxyValidate(t *testing.T) {
	p := &Proxy{}
	for _, d := range []map[string]string{
		{"listen": "tcp:127.0.0.1:80"},
		{"listen": "tcp:127.0.0.1:80", "connect": "udp:127.0.0.1:80"},
		{"listen": "sctp:127.0.0.1:80", "connect": "sctp:127.0.0.1:80"},
		{"listen": "tcp:localhost:80", "connect": "tcp:127.0.0.1:80"},
		{"listen": "tcp:127.0.0.1:80", "connect": "tcp:127.0.0.1:80", "bind": "instance"},
	} {
		if err := p.Validate(context.Background(), instance.DeviceContext{Name: "c"}, "p", d); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("Validate(%v) = %v, want ErrInvalid", d, err)
		}
	}
	if err := p.Validate(context.Background(), instance.DeviceContext{Name: "c"}, "p", map[string]string{"listen": "udp:0.0.0.0:53", "connect": "udp:127.0.0.1:53"}); err != nil {
		t.Error(err)
	}
}
