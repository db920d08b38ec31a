package analysis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// DefaultTimeout bounds a measurement's request.
const DefaultTimeout = 10 * time.Second

// HTTPSettings are what a provider's requests carry.
type HTTPSettings struct {
	Headers     []rampv1.Header
	BearerToken *rampv1.SecretKeyRef
	TLS         *rampv1.TLSConfig
}

// NewHTTPClient builds a client that sends the settings' headers (their
// Secret values read now) and checks servers as the TLS settings say.
// Errors name the Secret, never its value.
func NewHTTPClient(ctx context.Context, secrets Secrets, s HTTPSettings) (*http.Client, error) {
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
		}
		header.Set(h.Name, v)
	}
	if s.BearerToken != nil {
		token, err := secrets.Value(ctx, *s.BearerToken)
		if err != nil {
			return nil, fmt.Errorf("bearer token: %w", err)
		}
		header.Set("Authorization", "Bearer "+token)
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
	return &http.Client{Transport: headerTransport{header: header, next: transport}}, nil
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
	return t.next.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport: each measurement builds its own, and must not leave idle
// connections behind.
func (t headerTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
