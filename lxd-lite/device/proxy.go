package device

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"lite/client/api"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/netutil"
)

// udpIdle is how long a UDP flow without traffic keeps its socket in the container.
const udpIdle = 60 * time.Second

// Proxy handles devices of type proxy: lited listens on a host address and forwards each
// connection (or UDP flow) to an address inside the container's network namespace, which it
// dials from a thread that enters that namespace. Listeners live in lited, so they are opened
// again when lited restarts (Attach).
type Proxy struct {
	// Pid returns the init pid of a running container.
	Pid func(ctx context.Context, inst string) (int, error)
	Log *slog.Logger

	mu   sync.Mutex
	live map[string]*forwarder // by instance/device
}

// ParseProxyAddr reads "tcp:127.0.0.1:8080" into a network and an address.
func ParseProxyAddr(v string) (proto, addr string, err error) {
	proto, addr, ok := strings.Cut(v, ":")
	if !ok || (proto != "tcp" && proto != "udp") {
		return "", "", fmt.Errorf("%q is not PROTO:ADDRESS:PORT with PROTO tcp or udp (example: tcp:127.0.0.1:8080)", v)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || net.ParseIP(host) == nil || port == "" {
		return "", "", fmt.Errorf("%q is not PROTO:ADDRESS:PORT with an IP address (example: tcp:127.0.0.1:8080)", v)
	}
	return proto, addr, nil
}

// Validate checks listen and connect.
func (p *Proxy) Validate(ctx context.Context, _ instance.DeviceContext, name string, dev map[string]string) error {
	lp, _, err := ParseProxyAddr(dev["listen"])
	if err != nil {
		return fmt.Errorf("device %q: listen: %v: %w", name, err, api.ErrInvalid)
	}
	cp, _, err := ParseProxyAddr(dev["connect"])
	if err != nil {
		return fmt.Errorf("device %q: connect: %v: %w", name, err, api.ErrInvalid)
	}
	if lp != cp {
		return fmt.Errorf("device %q: listen is %s but connect is %s: %w", name, lp, cp, api.ErrInvalid)
	}
	if b := dev["bind"]; b != "" && b != "host" {
		return fmt.Errorf("device %q: bind=%s: lite proxies listen on the host only: %w", name, b, api.ErrInvalid)
	}
	return nil
}

// Start opens the listener before the container starts, so a port in use fails the start.
func (p *Proxy) Start(ctx context.Context, dc instance.DeviceContext, name string, dev map[string]string, spec *instance.RunSpec) (func(), error) {
	if err := p.Serve(ctx, dc, name, dev); err != nil {
		return nil, err
	}
	return func() { _ = p.Stop(context.Background(), dc, name, dev) }, nil
}

// Attach serves a proxy added to a running container (instance.DeviceHotplugger).
func (p *Proxy) Attach(ctx context.Context, dc instance.DeviceContext, _ int, name string, dev map[string]string) error {
	return p.Serve(ctx, dc, name, dev)
}

// Detach stops a proxy removed from a running container (instance.DeviceHotplugger).
func (p *Proxy) Detach(ctx context.Context, dc instance.DeviceContext, _ int, name string, dev map[string]string) error {
	return p.Stop(ctx, dc, name, dev)
}

// Serve starts listening for a running container, after a hotplug or a restart of lited
// (instance.LiveDevice).
func (p *Proxy) Serve(ctx context.Context, dc instance.DeviceContext, name string, dev map[string]string) error {
	if err := p.Validate(ctx, dc, name, dev); err != nil {
		return err
	}
	key := dc.Name + "/" + name
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live == nil {
		p.live = map[string]*forwarder{}
	}
	if f, ok := p.live[key]; ok {
		if f.listen == dev["listen"] && f.connect == dev["connect"] {
			return nil
		}
		f.close()
		delete(p.live, key)
	}
	f := &forwarder{inst: dc.Name, listen: dev["listen"], connect: dev["connect"], pid: p.Pid, log: p.Log, conns: map[io.Closer]bool{}}
	if err := f.open(); err != nil {
		return err
	}
	p.live[key] = f
	return nil
}

// Stop closes the listener and the connections it carries.
func (p *Proxy) Stop(ctx context.Context, dc instance.DeviceContext, name string, dev map[string]string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := dc.Name + "/" + name
	if f, ok := p.live[key]; ok {
		f.close()
		delete(p.live, key)
	}
	return nil
}

// forwarder is one proxy device's listener and its connections.
type forwarder struct {
	inst, listen, connect string
	pid                   func(ctx context.Context, inst string) (int, error)
	log                   *slog.Logger

	mu     sync.Mutex
	ln     net.Listener
	pc     net.PacketConn
	conns  map[io.Closer]bool
	closed bool
}

func (f *forwarder) open() error {
	proto, addr, _ := ParseProxyAddr(f.listen)
	var err error
	if proto == "tcp" {
		f.ln, err = net.Listen("tcp", addr)
	} else {
		f.pc, err = net.ListenPacket("udp", addr)
	}
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("listen %s: the address is already in use on the host: %w", f.listen, api.ErrConflict)
		}
		return fmt.Errorf("listen %s: %v: %w", f.listen, err, api.ErrInvalid)
	}
	if f.ln != nil {
		go f.serveTCP()
	} else {
		go f.serveUDP()
	}
	return nil
}

func (f *forwarder) track(c io.Closer, on bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if on && f.closed {
		return false
	}
	if on {
		f.conns[c] = true
	} else {
		delete(f.conns, c)
	}
	return true
}

func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.ln != nil {
		f.ln.Close()
	}
	if f.pc != nil {
		f.pc.Close()
	}
	for c := range f.conns {
		c.Close()
	}
}

// dial connects to the connect address inside the container, as it runs now.
func (f *forwarder) dial() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pid, err := f.pid(ctx, f.inst)
	if err != nil {
		return nil, err
	}
	proto, addr, _ := ParseProxyAddr(f.connect)
	return netutil.DialIn(ctx, pid, proto, addr)
}

func (f *forwarder) serveTCP() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			if !f.track(c, true) {
				return
			}
			defer f.track(c, false)
			up, err := f.dial()
			if err != nil {
				f.log.Warn("proxy: connect into container", "instance", f.inst, "connect", f.connect, "err", err)
				return
			}
			defer up.Close()
			if !f.track(up, true) {
				return
			}
			defer f.track(up, false)
			done := make(chan struct{}, 2)
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
				done <- struct{}{}
			}
			go pipe(up, c)
			go pipe(c, up)
			<-done
			<-done
		}()
	}
}

func (f *forwarder) serveUDP() {
	var mu sync.Mutex
	flows := map[string]net.Conn{}
	buf := make([]byte, 64<<10)
	for {
		n, from, err := f.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		mu.Lock()
		up, ok := flows[from.String()]
		mu.Unlock()
		if !ok {
			if up, err = f.dial(); err != nil {
				f.log.Warn("proxy: connect into container", "instance", f.inst, "connect", f.connect, "err", err)
				continue
			}
			if !f.track(up, true) {
				up.Close()
				return
			}
			mu.Lock()
			flows[from.String()] = up
			mu.Unlock()
			go func(up net.Conn, from net.Addr) {
				defer f.track(up, false)
				defer up.Close()
				b := make([]byte, 64<<10)
				for {
					_ = up.SetReadDeadline(time.Now().Add(udpIdle))
					n, err := up.Read(b)
					if err != nil {
						mu.Lock()
						delete(flows, from.String())
						mu.Unlock()
						return
					}
					if _, err := f.pc.WriteTo(b[:n], from); err != nil {
						return
					}
				}
			}(up, from)
		}
		_, _ = up.Write(buf[:n])
	}
}
