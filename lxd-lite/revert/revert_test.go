package revert

import (
	"reflect"
	"testing"
)

func TestFailRunsStepsInReverse(t *testing.T) {
	var got []int
	r := New()
	for i := 1; i <= 3; i++ {
		i := i
		r.Add(func() { got = append(got, i) })
	}
	r.Fail()
	if want := []int{3, 2, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("undo order %v, want %v", got, want)
	}
}

func TestSuccessKeepsChanges(t *testing.T) {
	ran := false
	r := New()
	r.Add(func() { ran = true })
	r.Success()
	r.Fail()
	if ran {
		t.Fatal("Fail after Success ran an undo step")
	}
}

func TestCloneOutlivesSuccess(t *testing.T) {
	var got []int
	r := New()
	r.Add(func() { got = append(got, 1) })
	r.Add(func() { got = append(got, 2) })
	undo := r.Clone().Fail
	r.Success()
	r.Fail()
	if len(got) != 0 {
		t.Fatalf("Fail after Success ran %v", got)
	}
	r.Add(func() { got = append(got, 99) }) // later steps are not part of the clone
	undo()
	if want := []int{2, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("clone undo %v, want %v", got, want)
	}
}
