// Package revert is the undo list every multi-step change of the host goes through: each step
// adds its inverse, and a failure at any later step runs them in reverse order, so nothing
// half-made is left behind.
package revert

// Reverter runs undo steps in reverse order unless the change succeeded.
type Reverter struct {
	steps []func()
	done  bool
}

// New returns an empty reverter; defer its Fail right away.
func New() *Reverter { return &Reverter{} }

// Add records the inverse of a step that just succeeded.
func (r *Reverter) Add(f func()) { r.steps = append(r.steps, f) }

// Success keeps the changes: a later Fail does nothing.
func (r *Reverter) Success() { r.done = true }

// Fail undoes the changes unless Success was called; defer it.
func (r *Reverter) Fail() {
	if r.done {
		return
	}
	for i := len(r.steps) - 1; i >= 0; i-- {
		r.steps[i]()
	}
}

// Clone returns a reverter holding the same steps, not yet succeeded, so a caller can hand
// the undo of a finished change to its own caller: `undo := r.Clone().Fail; r.Success()`.
func (r *Reverter) Clone() *Reverter {
	return &Reverter{steps: append([]func(){}, r.steps...)}
}
