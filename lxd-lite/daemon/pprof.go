package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"lite/client/api"
)

// CheckPprofAddr accepts only a loopback HOST:PORT (127.0.0.0/8, ::1 or localhost): the
// profiles show what lited is doing and a CPU profile costs CPU, so they stay on this host.
func CheckPprofAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("pprof address %q: %v (want a loopback HOST:PORT such as 127.0.0.1:6060): %w", addr, err, api.ErrInvalid)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("pprof address %q: %q is not a loopback address (use 127.0.0.1 or ::1): %w", addr, host, api.ErrInvalid)
	}
	return nil
}

// ServePprof serves Go's pprof handlers (/debug/pprof/) on the loopback addr until ctx ends.
// It returns once it listens, with the address it got (a port 0 picks a free one) and a
// channel closed when the server has stopped.
func ServePprof(ctx context.Context, addr string, log *slog.Logger) (string, <-chan struct{}, error) {
	if err := CheckPprofAddr(addr); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Warn("serving Go profiles (--pprof): any local user can read them", "addr", ln.Addr().String())
	return ln.Addr().String(), done, nil
}
