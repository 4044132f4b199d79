package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"lite/client/api"
	"lite/lxd-lite/device"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/instance/instancetest"
)

// The proxy device needs the container's init pid; a stopped container has none, which is
// ErrNotRunning (a 400 naming the instance), not an error without a kind (a 500).
func TestProxyPidOfStoppedInstance(t *testing.T) {
	rt := instancetest.NewRuntime()
	t.Cleanup(rt.KillAll)
	proxy, ok := deviceHandlers(nil, rt, slog.New(slog.NewTextHandler(io.Discard, nil)))["proxy"].(*device.Proxy)
	if !ok {
		t.Fatal("the proxy handler is not a *device.Proxy")
	}
	_, err := proxy.Pid(context.Background(), "c1")
	if !errors.Is(err, api.ErrNotRunning) || errors.Is(err, api.ErrInvalid) || api.StatusFor(err) != 400 {
		t.Errorf("Pid(stopped c1) = %v, want ErrNotRunning only", err)
	}
	if err := rt.Start(context.Background(), instance.RunSpec{Name: "c1"}); err != nil {
		t.Fatal(err)
	}
	if pid, err := proxy.Pid(context.Background(), "c1"); err != nil || pid <= 0 {
		t.Errorf("Pid(running c1) = %d, %v", pid, err)
	}
}
