package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"lite/client/api"
)

// relayLimit bounds how long the events of one forwarded operation are relayed.
const relayLimit = time.Hour

// opRelay carries the operation events of one forwarded request from the member that runs it
// to this member's event hub, so clients that wait on events (lxc, lite's progress) see the
// operation as if it ran here. It subscribes before the request is forwarded: no event of
// the operation is missed, the final one included.
type opRelay struct {
	conn *websocket.Conn
}

// dialRelay subscribes to member's operation events; nil when that fails (the client still
// has /wait, which is forwarded).
func (s *Server) dialRelay(ctx context.Context, member, base string) *opRelay {
	d := websocket.Dialer{
		NetDialTLSContext: s.memberTransport().DialTLSContext,
		HandshakeTimeout:  memberDialTimeout,
	}
	u := "wss://" + strings.TrimPrefix(base, "https://") + "/1.0/events?type=operation"
	h := http.Header{ForwardedHeader: {s.localName()}}
	conn, resp, err := d.DialContext(ctx, u, h)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		s.Log.Debug("cluster: cannot relay operation events", "member", member, "err", err)
		return nil
	}
	return &opRelay{conn: conn}
}

// close drops the subscription (the request created no operation).
func (rl *opRelay) close() { _ = rl.conn.Close() }

// run publishes the events of operation id on the hub until it is final.
func (rl *opRelay) run(s *Server, id string) {
	defer rl.close()
	_ = rl.conn.SetReadDeadline(time.Now().Add(relayLimit))
	for {
		var ev struct {
			Type     string          `json:"type"`
			Metadata json.RawMessage `json:"metadata"`
		}
		if err := rl.conn.ReadJSON(&ev); err != nil {
			s.Log.Debug("cluster: operation event relay ended", "operation", id, "err", err)
			return
		}
		var op api.Operation
		if ev.Type != api.EventTypeOperation || json.Unmarshal(ev.Metadata, &op) != nil || op.ID != id {
			continue
		}
		s.Hub.Publish(api.EventTypeOperation, op)
		if op.StatusCode.IsFinal() {
			return
		}
	}
}
