package hooks

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
)

func TestTokens(t *testing.T) {
	token, hash := NewToken()
	other, _ := NewToken()
	if token == other || len(token) < 40 {
		t.Fatalf("tokens %q and %q", token, other)
	}
	if !TokenMatches(token, hash) || TokenMatches(other, hash) || TokenMatches("", hash) || strings.Contains(hash, token) {
		t.Error("a token matches only its own hash")
	}
}

// receiver records what reached it and answers err.
type receiver struct {
	got []string
	err error
}

func (r *receiver) Receive(_ context.Context, ns, name, token string, v Verdict) error {
	r.got = append(r.got, fmt.Sprintf("%s/%s/%s %v %s", ns, name, token, v.Success, v.Message))
	return r.err
}

func TestCallbackHandler(t *testing.T) {
	tok, _ := NewToken()
	tests := []struct {
		name, method, path, body string
		recvErr                  error
		want                     int
		received                 string
	}{
		{name: "mdMessage", method: "POST", path: "/callbacks/shop/run-1/" + tok, body: `{"success": true, "mdMessage": "all good"}`,
			want: 200, received: "shop/run-1/" + tok + " true all good"},
		{name: "message", method: "POST", path: "/callbacks/shop/run-1/" + tok, body: `{"success": false, "message": "2 failed"}`,
			want: 200, received: "shop/run-1/" + tok + " false 2 failed"},
		{name: "no success field", method: "POST", path: "/callbacks/shop/run-1/" + tok, body: `{"mdMessage": "?"}`, want: 400},
		{name: "not JSON", method: "POST", path: "/callbacks/shop/run-1/" + tok, body: `ok`, want: 400},
		{name: "too large", method: "POST", path: "/callbacks/shop/run-1/" + tok, body: `{"success": true, "mdMessage": "` + strings.Repeat("x", 70<<10) + `"}`, want: 400},
		{name: "refused", method: "POST", path: "/callbacks/shop/run-1/" + tok, body: `{"success": true}`, recvErr: fmt.Errorf("%w: used", ErrRefused),
			want: 403, received: "shop/run-1/" + tok + " true "},
		{name: "unknown run", method: "POST", path: "/callbacks/shop/run-1/" + tok, body: `{"success": true}`, recvErr: ErrUnknownRun,
			want: 403, received: "shop/run-1/" + tok + " true "},
		{name: "API down", method: "POST", path: "/callbacks/shop/run-1/" + tok, body: `{"success": true}`, recvErr: errors.New("connection refused"),
			want: 503, received: "shop/run-1/" + tok + " true "},
		{name: "a malformed token is refused unread", method: "POST", path: "/callbacks/shop/run-1/tok", body: `{"success": true}`, want: 403},
		{name: "GET", method: "GET", path: "/callbacks/shop/run-1/" + tok, want: 405},
		{name: "no token", method: "POST", path: "/callbacks/shop/run-1", body: `{"success": true}`, want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recv := &receiver{err: tt.recvErr}
			var logs strings.Builder
			log := funcr.New(func(prefix, args string) { logs.WriteString(args + "\n") }, funcr.Options{})
			rec := httptest.NewRecorder()
			CallbackHandler(recv, log).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if got := strings.Join(recv.got, ";"); got != tt.received {
				t.Errorf("received %q, want %q", got, tt.received)
			}
			if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), "/tok") {
				t.Errorf("the log shows the token: %s", logs.String())
			}
		})
	}
}
