package client

import "net/http"

// WithHeader returns a copy of c whose requests (websockets included) carry the header
// key: value, besides those of c. Cluster members mark their requests to each other so.
func (c *Client) WithHeader(key, value string) *Client {
	h := c.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(key, value)
	cp := *c
	cp.header = h
	cp.http = &http.Client{Transport: headerTransport{base: c.http.Transport, header: h}, Timeout: c.http.Timeout}
	return &cp
}

// headerTransport adds headers to every request it carries.
type headerTransport struct {
	base   http.RoundTripper
	header http.Header
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.header {
		r.Header[k] = v
	}
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
