package instance

import (
	"context"
	"errors"
	"testing"
)

func TestStopSendsForceAndTimeout(t *testing.T) {
	fake, ios, _, _ := newFake()
	err := RunState(context.Background(), &StateOptions{IO: ios, Client: clientOf(fake),
		Action: "stop", Names: []string{"c1", "api1"}, Force: true, Timeout: 30})
	if err != nil {
		t.Fatal(err)
	}
	want := "PUT state c1 stop force=true timeout=30\nPUT state api1 stop force=true timeout=30"
	if got := fake.CallLog(); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
}

func TestStateErrorsNameTheInstance(t *testing.T) {
	fake, ios, _, _ := newFake()
	fake.Fail = map[string]error{"PUT state web start force=false timeout=-1": errors.New("The instance is already running")}
	opts := &StateOptions{IO: ios, Client: clientOf(fake), Action: "start", Names: []string{"web"}, Timeout: -1}
	if err := RunState(context.Background(), opts); err == nil || err.Error() != "The instance is already running" {
		t.Errorf("one name: err = %v", err)
	}
	opts.Names = []string{"web", "c1"}
	err := RunState(context.Background(), opts)
	if err == nil || err.Error() != "web: The instance is already running" {
		t.Errorf("two names: err = %v", err)
	}
	if fake.CallLog() != "PUT state web start force=false timeout=-1\nPUT state web start force=false timeout=-1\nPUT state c1 start force=false timeout=-1" {
		t.Errorf("a failure must not stop the others: %s", fake.CallLog())
	}
}
