package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"lite/client/api"
)

// connectTimeout is how long an exec or console waits for its websockets, as in LXD.
const connectTimeout = 5 * time.Second

// wsSession is the websockets of one exec or console operation (LXD's protocol): one secret
// per fd, each good for one connection; ready once the required fds are connected; and a
// control socket whose messages (window-resize, signal) go to onControl and whose end calls
// onControlEnd.
type wsSession struct {
	mu        sync.Mutex
	secrets   map[string]string // secret -> fd name
	conns     map[string]*websocket.Conn
	required  []string
	ready     chan struct{}
	readyOnce sync.Once
	// onControl handles one control message; onControlEnd runs when the control socket goes.
	onControl    func(msg api.InstanceExecControl)
	onControlEnd func()
}

// newWSSession makes a session with a secret for each of fds that is ready once every fd of
// required is connected; it returns the fd -> secret map for the operation's metadata.
func newWSSession(fds, required []string) (*wsSession, map[string]any) {
	s := &wsSession{secrets: map[string]string{}, conns: map[string]*websocket.Conn{}, required: required,
		ready: make(chan struct{}), onControl: func(api.InstanceExecControl) {}, onControlEnd: func() {}}
	meta := map[string]any{}
	for _, fd := range fds {
		sec := randomSecret()
		s.secrets[sec], meta[fd] = fd, sec
	}
	return s, meta
}

func randomSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// connect serves one websocket of the operation (operations.Spec.Connect).
func (s *wsSession) connect(secret string, w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	fd, ok := s.secrets[secret]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("bad websocket secret: %w", api.ErrForbidden)
	}
	if s.conns[fd] != nil {
		s.mu.Unlock()
		return fmt.Errorf("websocket %s is already connected: %w", fd, api.ErrForbidden)
	}
	s.mu.Unlock()
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil // the upgrader already answered
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[fd] = conn
	if fd == "control" {
		go s.control(conn)
	}
	for _, need := range s.required {
		if s.conns[need] == nil {
			return nil
		}
	}
	s.readyOnce.Do(func() { close(s.ready) })
	return nil
}

// control reads the control socket until it ends; a message that is not JSON is skipped.
func (s *wsSession) control(conn *websocket.Conn) {
	defer s.onControlEnd()
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var msg api.InstanceExecControl
		if json.Unmarshal(b, &msg) != nil {
			continue
		}
		s.onControl(msg)
	}
}

// waitReady waits for the required websockets, at most connectTimeout; on failure it closes
// the ones that did connect.
func (s *wsSession) waitReady(ctx context.Context) error {
	t := time.NewTimer(connectTimeout)
	defer t.Stop()
	select {
	case <-s.ready:
		return nil
	case <-t.C:
		s.closeAll()
		return errors.New("timed out waiting for websockets to connect")
	case <-ctx.Done():
		s.closeAll()
		return fmt.Errorf("waiting for websockets: %w", context.Cause(ctx))
	}
}

func (s *wsSession) conn(fd string) *websocket.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[fd]
}

func (s *wsSession) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = c.Close()
	}
}

// resizeMsg reads a window-resize message's size; ok is false for anything else.
func resizeMsg(msg api.InstanceExecControl) (w, h int, ok bool) {
	if msg.Command != "window-resize" {
		return 0, 0, false
	}
	w, _ = strconv.Atoi(msg.Args["width"])
	h, _ = strconv.Atoi(msg.Args["height"])
	return w, h, w > 0 && h > 0
}

// setWinsize sets a terminal's window size through the poller's fd: pty.Setsize would call
// Fd(), which turns the fd blocking, and Close could then no longer end a pending Read.
func setWinsize(f *os.File, w, h int) {
	sc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = sc.Control(func(fd uintptr) {
		_ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(w), Row: uint16(h)})
	})
}
