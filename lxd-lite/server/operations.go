package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"lite/client/api"
)

// upgrader accepts any Origin: LXD's Python client sends one, and the unix socket is the
// only way in.
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func listOperations(s *Server, r *http.Request) Response {
	full := r.URL.Query().Get("recursion") != "" && r.URL.Query().Get("recursion") != "0"
	byStatus := map[string][]any{}
	for _, op := range s.Ops.List() {
		o := op.Render()
		key := strings.ToLower(o.Status)
		if full {
			byStatus[key] = append(byStatus[key], o)
		} else {
			byStatus[key] = append(byStatus[key], op.URL())
		}
	}
	return Sync(byStatus)
}

func getOperation(s *Server, r *http.Request) Response {
	op, err := s.Ops.Get(r.PathValue("id"))
	if err != nil {
		return Error(err)
	}
	return Sync(op.Render())
}

func cancelOperation(s *Server, r *http.Request) Response {
	op, err := s.Ops.Get(r.PathValue("id"))
	if err != nil {
		return Error(err)
	}
	if err := op.Cancel(); err != nil {
		return Error(err)
	}
	return EmptySync()
}

// waitOperation blocks until the operation is final or timeout seconds pass (-1 or absent:
// no limit), then returns its current state.
func waitOperation(s *Server, r *http.Request) Response {
	op, err := s.Ops.Get(r.PathValue("id"))
	if err != nil {
		return Error(err)
	}
	timeout := time.Duration(-1)
	if t := r.URL.Query().Get("timeout"); t != "" {
		n, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return Errorf(api.ErrInvalid, "bad timeout %q", t)
		}
		if n >= 0 {
			timeout = time.Duration(n * float64(time.Second))
		}
	}
	op.Wait(r.Context(), timeout)
	return Sync(op.Render())
}

func operationWebsocket(s *Server, r *http.Request) Response {
	op, err := s.Ops.Get(r.PathValue("id"))
	if err != nil {
		return Error(err)
	}
	secret := r.URL.Query().Get("secret")
	return Manual(func(w http.ResponseWriter) error {
		if err := op.Connect(secret, w, r); err != nil {
			return Error(err).Render(w)
		}
		return nil
	})
}

// getEvents streams events as JSON text frames until the client goes away.
func getEvents(s *Server, r *http.Request) Response {
	var types []string
	if t := r.URL.Query().Get("type"); t != "" {
		types = strings.Split(t, ",")
	}
	return Manual(func(w http.ResponseWriter) error {
		// Subscribe first: clients open the stream right before their request, and an event
		// published during the upgrade must not be lost.
		sub := s.Hub.Subscribe(types...)
		defer sub.Close()
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return nil // the upgrader already answered
		}
		defer conn.Close()
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		// Read to notice the client leaving (and to process control frames).
		go func() {
			defer cancel()
			for {
				if _, _, err := conn.NextReader(); err != nil {
					return
				}
			}
		}()
		for {
			select {
			case <-ctx.Done():
				return nil
			case ev := <-sub.C:
				if err := conn.WriteJSON(ev); err != nil {
					return nil
				}
			}
		}
	})
}
