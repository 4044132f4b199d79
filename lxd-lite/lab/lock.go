package lab

import (
	"fmt"
	"sync"

	"lite/client/api"
)

// busyMu guards Service.busy, the labs an up or down is working on: a second one at the same
// time fails with ErrConflict instead of racing the first.
var busyMu sync.Mutex

// Lock marks lab busy and returns the function that frees it.
func (s *Service) Lock(lab string) (func(), error) {
	busyMu.Lock()
	defer busyMu.Unlock()
	if s.busy == nil {
		s.busy = map[string]bool{}
	}
	if s.busy[lab] {
		return nil, fmt.Errorf("lab %s: an up or down of it is already running: wait for it: %w", lab, api.ErrConflict)
	}
	s.busy[lab] = true
	return func() {
		busyMu.Lock()
		delete(s.busy, lab)
		busyMu.Unlock()
	}, nil
}
