package cli

import (
	"bytes"
	"io"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/term"
)

// IOStreams are a command's standard streams and what is known about the terminal. Commands
// never touch os.Stdin/os.Stdout directly, so tests can run them on buffers.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	InTTY, OutTTY, ErrTTY bool

	// Getenv reads the environment (TERM for exec).
	Getenv func(string) string
	// Terminal sizes the terminal and switches it to raw mode; used by interactive exec.
	Terminal Terminal
	// Signals delivers the process's signals (forwarded by exec).
	Signals Signals
}

// Terminal is the controlling terminal.
type Terminal interface {
	// Size returns the terminal's width and height in cells.
	Size() (width, height int, err error)
	// MakeRaw puts the input terminal in raw mode and returns the function restoring it.
	MakeRaw() (restore func(), err error)
}

// Signals subscribes to process signals, like os/signal.
type Signals interface {
	Notify(ch chan<- os.Signal, sig ...os.Signal)
	Stop(ch chan<- os.Signal)
}

// System returns the process's real streams.
func System() *IOStreams {
	in, out, errOut := os.Stdin, os.Stdout, os.Stderr
	return &IOStreams{
		In: in, Out: out, ErrOut: errOut,
		InTTY:    term.IsTerminal(int(in.Fd())),
		OutTTY:   term.IsTerminal(int(out.Fd())),
		ErrTTY:   term.IsTerminal(int(errOut.Fd())),
		Getenv:   os.Getenv,
		Terminal: sysTerminal{in: in, out: out},
		Signals:  sysSignals{},
	}
}

type sysTerminal struct{ in, out *os.File }

func (t sysTerminal) Size() (int, int, error) { return term.GetSize(int(t.out.Fd())) }

func (t sysTerminal) MakeRaw() (func(), error) {
	fd := int(t.in.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	return func() { _ = term.Restore(fd, state) }, nil
}

type sysSignals struct{}

func (sysSignals) Notify(ch chan<- os.Signal, sig ...os.Signal) { signal.Notify(ch, sig...) }
func (sysSignals) Stop(ch chan<- os.Signal)                     { signal.Stop(ch) }

// TestIO returns streams on buffers, none of them a terminal, with an empty environment,
// plus the buffers written to.
func TestIO(stdin string) (ios *IOStreams, stdout, stderr *bytes.Buffer) {
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{
		In: strings.NewReader(stdin), Out: stdout, ErrOut: stderr,
		Getenv:  func(string) string { return "" },
		Signals: NoSignals{},
	}, stdout, stderr
}

// NoSignals never delivers a signal.
type NoSignals struct{}

// Notify does nothing.
func (NoSignals) Notify(chan<- os.Signal, ...os.Signal) {}

// Stop does nothing.
func (NoSignals) Stop(chan<- os.Signal) {}
