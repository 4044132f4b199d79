package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"lite/client/api"
	"lite/lxd-lite/cluster"
)

// ForwardedHeader marks a request one member forwarded to another: the receiver serves it
// itself, never forwards it again. Only a peer holding the cluster certificate may send it
// (the auth layer checks that); over the unix socket it only means "serve locally".
const ForwardedHeader = cluster.ForwardedHeader

// ClusterView is what the API needs of the cluster this daemon is a member of: who it is,
// who the others are and how to reach them (*cluster.Service; a fake in tests).
type ClusterView interface {
	// LocalName is this member's name; "" when the daemon is not clustered.
	LocalName() string
	// Members lists every member with its status.
	Members(ctx context.Context) ([]api.ClusterMember, error)
	// Member returns one member (ErrNotFound when there is none of that name).
	Member(ctx context.Context, name string) (api.ClusterMember, error)
	// MemberURL is a member's https://host:port.
	MemberURL(ctx context.Context, name string) (string, error)
	// ClientTLS is the TLS configuration (cluster certificate) to talk to members.
	ClientTLS() *tls.Config
	// IsPeer says whether a client certificate (DER) is a member's: only members may send
	// X-Lite-Forwarded.
	IsPeer(der []byte) bool
}

// Placement says where instances live (the shared database's instances.node).
type Placement interface {
	// InstanceNode is the member an instance lives on ("" on a single host).
	InstanceNode(ctx context.Context, name string) (string, error)
	// InstanceNodes maps every instance to its member.
	InstanceNodes(ctx context.Context) (map[string]string, error)
}

// Cluster timeouts: forwarding never hangs on a member that does not answer.
const (
	memberDialTimeout = 5 * time.Second
	memberListTimeout = 5 * time.Second
	opLookupTimeout   = 3 * time.Second
)

// forwarding holds the forwarding state of a Server: the transport to members and which member
// runs each operation created through this one.
type forwarding struct {
	once      sync.Once
	transport *http.Transport
	mu        sync.Mutex
	opOwners  map[string]opOwner
}

type opOwner struct {
	member string
	at     time.Time
}

// opOwnerTTL bounds how long an operation id is remembered; later lookups ask the members.
const opOwnerTTL = time.Hour

// localName is this member's name, "" when not clustered.
func (s *Server) localName() string {
	if s.Route == nil { // tests may leave it out
		return ""
	}
	return s.Route.LocalName()
}

// memberTransport dials members with the cluster certificate, read at each dial (a cluster
// enabled after start is used at once).
func (s *Server) memberTransport() *http.Transport {
	s.cl.once.Do(func() {
		s.cl.transport = &http.Transport{
			DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				d := tls.Dialer{NetDialer: &net.Dialer{Timeout: memberDialTimeout}, Config: s.Route.ClientTLS()}
				return d.DialContext(ctx, network, addr)
			},
			TLSHandshakeTimeout: memberDialTimeout,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		}
	})
	return s.cl.transport
}

// route decides where a request is served: it returns false when this member serves it, and
// true when it forwarded the request (or answered an error about where it should go).
func (s *Server) route(w http.ResponseWriter, r *http.Request, pattern string) bool {
	local := s.localName()
	if local == "" {
		return false
	}
	_, path, _ := strings.Cut(pattern, " ")
	if r.Header.Get(ForwardedHeader) != "" {
		return s.refuseMisrouted(w, r, path, local)
	}
	var member string
	var err error
	switch {
	case pattern == "POST /1.0/instances":
		member, err = s.placeNew(r, local)
	case strings.HasPrefix(path, "/1.0/instances/{name}"):
		member, err = s.instanceMember(r.Context(), r.PathValue("name"))
	case strings.HasPrefix(path, "/1.0/operations/{id}"):
		member = s.operationMember(r.Context(), r.PathValue("id"), local)
	default:
		return false
	}
	if err != nil {
		_ = Error(err).Render(w)
		return true
	}
	if member == "" || member == local {
		return false
	}
	s.forward(w, r, member)
	return true
}

// refuseMisrouted answers a forwarded request for an instance that does not live here (the
// sender's view is stale, or the header was sent by hand over the unix socket): serving it
// would act on a container this member does not have, and on the shared row.
func (s *Server) refuseMisrouted(w http.ResponseWriter, r *http.Request, path, local string) bool {
	if !strings.HasPrefix(path, "/1.0/instances/{name}") {
		return false
	}
	name := r.PathValue("name")
	member, err := s.instanceMember(r.Context(), name)
	if err == nil && (member == "" || member == local) {
		return false
	}
	if err == nil {
		err = fmt.Errorf("instance %q lives on cluster member %q, not on %q: send the request without %s: %w", name, member, local, ForwardedHeader, api.ErrConflict)
	}
	_ = Error(err).Render(w)
	return true
}

// instanceMember is the member an instance lives on; "" (serve here) when the name is unknown,
// so the local handler answers the usual not-found error.
func (s *Server) instanceMember(ctx context.Context, name string) (string, error) {
	node, err := s.Placement.InstanceNode(ctx, name)
	if errors.Is(err, api.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("instance %q: find its cluster member: %w", name, err)
	}
	return node, nil
}

// onlineMember returns nil when member exists and is online, else an error saying which.
func (s *Server) onlineMember(ctx context.Context, name string) error {
	m, err := s.Route.Member(ctx, name)
	if errors.Is(err, api.ErrNotFound) {
		return fmt.Errorf("cluster member %q: %w (lite cluster list shows the members)", name, api.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("cluster member %q: %w", name, err)
	}
	if m.Status != api.ClusterMemberOnline {
		return fmt.Errorf("cluster member %q is %s: wait for it to come back, or use another member: %w", name, strings.ToLower(m.Status), api.ErrUnavailable)
	}
	return nil
}

// forward proxies the request (websocket upgrades included) to member, marked as forwarded.
// An offline or unreachable member is a clear ErrUnavailable error, never a hang.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, member string) {
	ctx := r.Context()
	if err := s.onlineMember(ctx, member); err != nil {
		_ = Error(err).Render(w)
		return
	}
	base, err := s.Route.MemberURL(ctx, member)
	if err == nil {
		var u *url.URL
		if u, err = url.Parse(base); err == nil {
			var relay *opRelay
			if r.Method != http.MethodGet { // may start an operation: relay its events
				relay = s.dialRelay(ctx, member, base)
			}
			s.proxyTo(u, member, &relay).ServeHTTP(w, r)
			if relay != nil {
				relay.close()
			}
			return
		}
	}
	_ = Error(fmt.Errorf("cluster member %q: address: %v: %w", member, err, api.ErrUnavailable)).Render(w)
}

// proxyTo is the reverse proxy to member at u. When the reply starts an operation, *relay
// (if any) is handed that operation and set to nil.
func (s *Server) proxyTo(u *url.URL, member string, relay **opRelay) *httputil.ReverseProxy {
	local := s.localName()
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = u.Host
			pr.Out.Header.Set(ForwardedHeader, local)
		},
		Transport:     s.memberTransport(),
		FlushInterval: -1, // exports, logs and long polls stream as they come
		ModifyResponse: func(resp *http.Response) error {
			if id, ok := strings.CutPrefix(resp.Header.Get("Location"), "/1.0/operations/"); ok && resp.StatusCode == http.StatusAccepted {
				s.rememberOp(id, member)
				if *relay != nil {
					go (*relay).run(s, id)
					*relay = nil
				}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			_ = Errorf(api.ErrUnavailable, "cluster member %q did not answer %s %s: %v", member, r.Method, r.URL.Path, err).Render(w)
		},
	}
}

func (s *Server) rememberOp(id, member string) {
	s.cl.mu.Lock()
	defer s.cl.mu.Unlock()
	if s.cl.opOwners == nil {
		s.cl.opOwners = map[string]opOwner{}
	}
	now := time.Now()
	for k, o := range s.cl.opOwners {
		if now.Sub(o.at) > opOwnerTTL {
			delete(s.cl.opOwners, k)
		}
	}
	s.cl.opOwners[id] = opOwner{member: member, at: now}
}

// operationMember is the member running operation id: here when this member has it, else the
// one that created it through this member, else the first online member that knows it. ""
// means "serve here" (the local handler answers not found).
func (s *Server) operationMember(ctx context.Context, id, local string) string {
	if _, err := s.Ops.Get(id); err == nil {
		return local
	}
	s.cl.mu.Lock()
	o, ok := s.cl.opOwners[id]
	s.cl.mu.Unlock()
	if ok {
		return o.member
	}
	member := s.askMembersForOp(ctx, id, local)
	if member != "" {
		s.rememberOp(id, member)
	}
	return member
}

// askMembersForOp asks every other online member, at once and briefly, for operation id.
func (s *Server) askMembersForOp(ctx context.Context, id, local string) string {
	members, err := s.Route.Members(ctx)
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, opLookupTimeout)
	defer cancel()
	found := make(chan string, len(members))
	var wg sync.WaitGroup
	for _, m := range members {
		if m.ServerName == local || m.Status != api.ClusterMemberOnline {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.memberGet(ctx, m.ServerName, "/1.0/operations/"+url.PathEscape(id)) == nil {
				found <- m.ServerName
			}
		}()
	}
	go func() { wg.Wait(); close(found) }()
	return <-found // "" when the channel closes with nobody having it
}

// memberGet sends a forwarded GET to a member; nil when it answered 2xx.
func (s *Server) memberGet(ctx context.Context, member, path string) error {
	_, err := s.memberDo(ctx, member, path)
	return err
}

// memberDo sends a forwarded GET to a member and returns the decoded envelope.
func (s *Server) memberDo(ctx context.Context, member, path string) (*api.Response, error) {
	return s.memberCall(ctx, member, http.MethodGet, path, nil)
}

// memberCall sends a forwarded request (body, when not nil, as JSON) to a member and returns
// the decoded envelope.
func (s *Server) memberCall(ctx context.Context, member, method, path string, body any) (*api.Response, error) {
	base, err := s.Route.MemberURL(ctx, member)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(ForwardedHeader, s.localName())
	resp, err := s.memberTransport().RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("cluster member %q: %v: %w", member, err, api.ErrUnavailable)
	}
	defer func() { _ = resp.Body.Close() }()
	return decodeEnvelope(resp)
}
