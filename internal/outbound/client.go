// Package outbound is Ramp's one door to the outside world: every call a
// metric provider, a webhook or a notification makes goes through it, so
// that the rules hold everywhere at once. Headers and tokens are read from
// Secrets when the call is made and redacted from whatever comes back;
// answers are size-limited; TLS is checked as the user says; template
// values are escaped for where they go; hosts may be limited to an
// allowlist.
package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Settings are what a call's requests carry.
type Settings struct {
	Headers     []rampv1.Header
	BearerToken *rampv1.SecretKeyRef
	TLS         *rampv1.TLSConfig
}

// MaxResponseBytes bounds what Ramp reads of an answer: a provider or a test
// system that answers without end fails the request instead of filling the
// controller's memory.
const MaxResponseBytes = 8 << 20

// Client is an HTTP client for one measurement or one call.
type Client struct {
	*http.Client
	secrets []string
}

// Redact replaces the Secret values the client sends with "[redacted]": a
// server may quote a request's headers back, and what it answers goes into
// messages, statuses and logs.
func (c *Client) Redact(s string) string {
	for _, v := range c.secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// NewClient builds a client that sends the settings' headers (their
// Secret values read now), checks servers as the TLS settings say, and
// reads at most MaxResponseBytes of an answer. Errors name the Secret,
// never its value.
func NewClient(ctx context.Context, secrets Secrets, s Settings) (*Client, error) {
	c := &Client{}
	header := http.Header{}
	for _, h := range s.Headers {
		v := ""
		switch {
		case h.Value != nil:
			v = *h.Value
		case h.ValueFrom != nil:
			var err error
			if v, err = secrets.Value(ctx, *h.ValueFrom); err != nil {
				return nil, fmt.Errorf("header %s: %w", h.Name, err)
			}
			c.secrets = append(c.secrets, v)
		}
		header.Set(h.Name, v)
	}
	if s.BearerToken != nil {
		token, err := secrets.Value(ctx, *s.BearerToken)
		if err != nil {
			return nil, fmt.Errorf("bearer token: %w", err)
		}
		header.Set("Authorization", "Bearer "+token)
		c.secrets = append(c.secrets, token)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if t := s.TLS; t != nil {
		cfg := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // the user's explicit choice
		if t.CASecret != nil {
			pem, err := secrets.Value(ctx, *t.CASecret)
			if err != nil {
				return nil, fmt.Errorf("TLS CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM([]byte(pem)) {
				return nil, fmt.Errorf("TLS CA: Secret %s key %s holds no PEM certificate", t.CASecret.Name, t.CASecret.Key)
			}
			cfg.RootCAs = pool
		}
		transport.TLSClientConfig = cfg
	}
	c.Client = &http.Client{Transport: headerTransport{header: header, next: transport}}
	return c, nil
}

// headerTransport adds fixed headers to every request.
type headerTransport struct {
	header http.Header
	next   http.RoundTripper
}

func (t headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, vs := range t.header {
		req.Header[k] = vs
	}
	resp, err := t.next.RoundTrip(req)
	if err == nil {
		resp.Body = &limitedBody{ReadCloser: resp.Body, left: MaxResponseBytes}
	}
	return resp, err
}

// limitedBody fails a read past its limit, rather than truncating: a cut
// JSON document would fail later with a less helpful message.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, err := b.ReadCloser.Read(one[:]); n == 0 && err != nil {
			return 0, err // the answer ended right at the limit
		}
		return 0, fmt.Errorf("the answer is larger than %d MiB", MaxResponseBytes>>20)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// Fetch sends req, whose context carries its timeout, and reads the whole
// answer (at most MaxResponseBytes). A request that runs out of time says
// so with timeout; another failure is redacted.
func (c *Client) Fetch(req *http.Request, timeout time.Duration) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, nil, fmt.Errorf("timed out after %s", timeout)
		}
		return nil, nil, errors.New(c.Redact(err.Error()))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, errors.New(c.Redact(err.Error()))
	}
	return resp, body, nil
}

// Excerpt is the start of an answer's body, for an error message: a
// server's error page can be long. Redact first: a secret cut in two would
// no longer be found.
func Excerpt(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) <= 200 {
		return s
	}
	cut := 200
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport: each measurement builds its own, and must not leave idle
// connections behind.
func (t headerTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
