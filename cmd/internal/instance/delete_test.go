package instance

import (
	"context"
	"errors"
	"testing"

	"lite/client/api"
)

func TestDeleteRefusesRunningInstance(t *testing.T) {
	fake, ios, _, _ := newFake()
	err := RunDelete(context.Background(), &DeleteOptions{IO: ios, Client: clientOf(fake), Names: []string{"c1"}})
	if err == nil || err.Error() != "The instance is currently running, stop it first or use --force" {
		t.Errorf("err = %v", err)
	}
	if got := fake.CallLog(); got != "GET instance c1" {
		t.Errorf("calls = %q: nothing may be stopped or deleted", got)
	}
}

func TestDeleteForceStopsFirst(t *testing.T) {
	fake, ios, _, _ := newFake()
	err := RunDelete(context.Background(), &DeleteOptions{IO: ios, Client: clientOf(fake),
		Names: []string{"c1", "web", "api1"}, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "GET instance c1\nPUT state c1 stop force=true timeout=-1\nDELETE c1\n" +
		"GET instance web\nDELETE web\n" +
		"GET instance api1\nPUT state api1 stop force=true timeout=-1" // ephemeral: gone once stopped
	if got := fake.CallLog(); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
}

func TestDeleteMissingInstance(t *testing.T) {
	fake, ios, _, _ := newFake()
	err := RunDelete(context.Background(), &DeleteOptions{IO: ios, Client: clientOf(fake), Names: []string{"nope"}})
	if !errors.Is(err, api.ErrNotFound) || err.Error() != "Instance not found" {
		t.Errorf("err = %v", err)
	}
}
