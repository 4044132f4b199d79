package trust

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"lite/client/api"
)

// DefaultTokenTTL is how long a join token stays valid unless told otherwise (LXD: 1 h here).
const DefaultTokenTTL = time.Hour

// EncodeToken returns the base64 JSON form of a token, as `lxc config trust add` prints it.
func EncodeToken(t api.CertificateAddToken) (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeToken parses a token printed by EncodeToken (or by LXD).
func DecodeToken(s string) (*api.CertificateAddToken, error) {
	s = strings.TrimSpace(s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawURLEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("token is not base64: %w", api.ErrInvalid)
	}
	var t api.CertificateAddToken
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("token is not a join token: %v: %w", err, api.ErrInvalid)
	}
	if t.Secret == "" || len(t.Fingerprint) != 64 || t.ClientName == "" {
		return nil, fmt.Errorf("token lacks its secret, name or server fingerprint: %w", api.ErrInvalid)
	}
	return &t, nil
}

// Pending is one join token not used yet.
type Pending struct {
	Name    string
	Secret  string
	Expires time.Time
	// OpID is the token operation that shows the token; it ends when the token is used,
	// expires or is cancelled.
	OpID string
	done func(err error)
}

// Tokens holds the pending join tokens. They live in memory only: a restart of lited
// revokes them all, which errs on the safe side.
type Tokens struct {
	mu      sync.Mutex
	pending map[string]*Pending // by secret
	now     func() time.Time
}

// NewTokens returns an empty token store.
func NewTokens() *Tokens { return &Tokens{pending: map[string]*Pending{}, now: time.Now} }

// NewSecret returns 32 random bytes in hex.
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// Add registers a token for name; done is called once when it is used (nil) or dropped.
func (t *Tokens) Add(p *Pending, done func(err error)) {
	p.done = done
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending[p.Secret] = p
}

// Take consumes the token with this secret (the whole token or its secret): it is removed
// whatever happens next, so a token works once. Unknown, expired or reused secrets fail.
func (t *Tokens) Take(token string) (*Pending, error) {
	secret := token
	if tok, err := DecodeToken(token); err == nil {
		secret = tok.Secret
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var found *Pending
	for s, p := range t.pending {
		if subtle.ConstantTimeCompare([]byte(s), []byte(secret)) == 1 {
			found = p
		}
	}
	if found == nil {
		return nil, fmt.Errorf("join token unknown, expired, already used or revoked: ask for a new one with \"lite config trust add NAME\": %w", api.ErrForbidden)
	}
	delete(t.pending, found.Secret)
	if t.now().After(found.Expires) {
		found.done(fmt.Errorf("join token expired"))
		return nil, fmt.Errorf("join token for %q expired at %s: ask for a new one: %w", found.Name, found.Expires.UTC().Format(time.RFC3339), api.ErrForbidden)
	}
	return found, nil
}

// Drop removes a token without using it (cancelled, expired).
func (t *Tokens) Drop(secret string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pending, secret)
}

// Done reports the end of a token taken with Take.
func (p *Pending) Done(err error) { p.done(err) }

// EncodeClusterToken returns the base64 JSON form of a cluster join token, as LXD's.
func EncodeClusterToken(t api.ClusterMemberJoinToken) (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeClusterToken parses a token printed by `lite cluster add`.
func DecodeClusterToken(s string) (api.ClusterMemberJoinToken, error) {
	var t api.ClusterMemberJoinToken
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Secret == "" || t.ServerName == "" || len(t.Fingerprint) != 64 || len(t.Addresses) == 0 {
		return api.ClusterMemberJoinToken{}, fmt.Errorf("not a cluster join token (get one with \"lite cluster add NAME\" on a member): %w", api.ErrInvalid)
	}
	return t, nil
}
