package outbound

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// TestHTTPClientLimitsAnswers: an answer up to MaxResponseBytes is read
// whole; a longer one fails the read instead of filling memory.
func TestHTTPClientLimitsAnswers(t *testing.T) {
	for _, tt := range []struct {
		size    int
		wantErr bool
	}{{MaxResponseBytes, false}, {MaxResponseBytes + 1, true}, {3 * MaxResponseBytes, true}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.Copy(w, io.LimitReader(zeros{}, int64(tt.size)))
		}))
		c, err := NewClient(context.Background(), nil, Settings{})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		srv.Close()
		if tt.wantErr != (err != nil) || (err != nil && !strings.Contains(err.Error(), "larger than 8 MiB")) || (err == nil && n != int64(tt.size)) {
			t.Errorf("an answer of %d bytes: read %d, %v", tt.size, n, err)
		}
	}
}

// TestRedact: the Secret values a client sends are redacted from text; the
// literal ones are not secret.
func TestRedact(t *testing.T) {
	secrets := fakeSecrets{"tokens/a": "s3cr3t-a", "tokens/b": "s3cr3t-b"}
	c, err := NewClient(context.Background(), secrets, Settings{
		Headers: []rampv1.Header{
			{Name: "X-A", ValueFrom: &rampv1.SecretKeyRef{Name: "tokens", Key: "a"}},
			{Name: "X-Plain", Value: ptr.To("visible")},
		},
		BearerToken: &rampv1.SecretKeyRef{Name: "tokens", Key: "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Redact("a=s3cr3t-a b=Bearer s3cr3t-b plain=visible again=s3cr3t-a")
	if want := "a=[redacted] b=Bearer [redacted] plain=visible again=[redacted]"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type fakeSecrets map[string]string

func (f fakeSecrets) Value(_ context.Context, ref rampv1.SecretKeyRef) (string, error) {
	return f[ref.Name+"/"+ref.Key], nil
}
