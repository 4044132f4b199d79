package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"lite/client/api"
	"lite/lxd-lite/instance"
)

// fakeLive is a device handler of the live kind (like proxy) that records what it was asked
// and refuses listen=busy at attach and listen=bad at validation.
type fakeLive struct {
	mu  sync.Mutex
	log []string
}

func (f *fakeLive) add(s string) { f.mu.Lock(); f.log = append(f.log, s); f.mu.Unlock() }

func (f *fakeLive) calls() string { f.mu.Lock(); defer f.mu.Unlock(); return strings.Join(f.log, " ") }

func (f *fakeLive) Validate(_ context.Context, _ instance.DeviceContext, name string, dev map[string]string) error {
	if dev["listen"] == "bad" {
		return fmt.Errorf("listen is bad: %w", api.ErrInvalid)
	}
	return nil
}

func (f *fakeLive) Start(ctx context.Context, dc instance.DeviceContext, name string, dev map[string]string, _ *instance.RunSpec) (func(), error) {
	return nil, f.Serve(ctx, dc, name, dev)
}

func (f *fakeLive) Attach(ctx context.Context, dc instance.DeviceContext, _ int, name string, dev map[string]string) error {
	return f.Serve(ctx, dc, name, dev)
}

func (f *fakeLive) Detach(ctx context.Context, dc instance.DeviceContext, _ int, name string, dev map[string]string) error {
	return f.Stop(ctx, dc, name, dev)
}

func (f *fakeLive) Serve(_ context.Context, dc instance.DeviceContext, name string, dev map[string]string) error {
	if dev["listen"] == "busy" {
		return errors.New("address in use")
	}
	f.add("attach:" + dc.Name + "/" + name + "=" + dev["listen"])
	return nil
}

func (f *fakeLive) Stop(_ context.Context, dc instance.DeviceContext, name string, dev map[string]string) error {
	f.add("stop:" + dc.Name + "/" + name)
	return nil
}

func (f *fakeLive) Remove(_ context.Context, dc instance.DeviceContext, name string, _ map[string]string) error {
	f.add("remove:" + dc.Name + "/" + name)
	return nil
}

func proxyDev(listen string) map[string]string {
	return map[string]string{"type": "proxy", "listen": listen, "connect": "tcp:127.0.0.1:80"}
}

// TestLiveDevices checks the device hooks through the API: validation on create and update,
// hotplug on a running instance (a failed attach refuses the change whole), release on delete.
func TestLiveDevices(t *testing.T) {
	f := &fakeLive{}
	e := newEnvWith(t, envOptions{devices: map[string]instance.DeviceHandler{"proxy": f}})

	e.failOp("POST", "/1.0/instances", map[string]any{"name": "c0", "source": map[string]any{"type": "image", "fingerprint": testFP},
		"devices": map[string]any{"p": proxyDev("bad")}})
	if got := e.containers(); len(got) != 0 {
		t.Fatalf("a refused device left containers: %v", got)
	}

	e.create("c1", map[string]any{"devices": map[string]any{"p": proxyDev("a")}})
	e.start("c1")
	if got := f.calls(); got != "attach:c1/p=a" {
		t.Fatalf("after start: %q", got)
	}
	inst, _ := e.getInstance("c1")
	put := inst.InstancePut
	put.Devices = map[string]map[string]string{"p": proxyDev("b"), "q": proxyDev("c")}
	e.succeed("PUT", "/1.0/instances/c1", put)
	if got := f.calls(); got != "attach:c1/p=a stop:c1/p attach:c1/p=b attach:c1/q=c" {
		t.Fatalf("after hotplug: %q", got)
	}

	// An attach that fails undoes the others and leaves the stored devices as they were.
	put.Devices = map[string]map[string]string{"p": proxyDev("b"), "q": proxyDev("busy"), "r": proxyDev("d")}
	e.failOp("PUT", "/1.0/instances/c1", put)
	after, _ := e.getInstance("c1")
	if after.Devices["q"]["listen"] != "c" || after.Devices["r"] != nil {
		t.Errorf("refused update changed devices: %v", after.Devices)
	}
	if got := f.calls(); !strings.HasSuffix(got, "stop:c1/q attach:c1/q=c") {
		t.Errorf("failed hotplug did not restore q: %q", got)
	}

	e.succeed("PUT", "/1.0/instances/c1/state", map[string]any{"action": "stop", "force": true})
	// On a stopped instance, a removed device gives back what it held.
	inst, _ = e.getInstance("c1")
	put = inst.InstancePut
	delete(put.Devices, "q")
	e.succeed("PUT", "/1.0/instances/c1", put)
	if got := f.calls(); !strings.HasSuffix(got, "remove:c1/q") {
		t.Errorf("removing q from a stopped instance: %q", got)
	}
	e.succeed("DELETE", "/1.0/instances/c1", nil)
	if got := f.calls(); !strings.HasSuffix(got, "remove:c1/p") {
		t.Errorf("delete did not release the devices: %q", got)
	}
}
