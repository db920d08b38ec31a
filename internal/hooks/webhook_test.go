package hooks

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis/analysistest"
)

// TestCall makes real calls to a server on loopback.
func TestCall(t *testing.T) {
	type seen struct {
		method, query, key, auth, contentType string
		body                                  string
	}
	got := make(chan seen, 1)
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RawQuery, r.Header.Get(IdempotencyKeyHeader), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)}
		switch r.URL.Path {
		case "/fail":
			http.Error(w, "3 tests failed", http.StatusInternalServerError)
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		case "/hang":
			<-stop
		}
	}))
	defer srv.Close()
	defer close(stop)
	v := Values{"Rollout": "web", "CanaryService": `web-canary&x="1"`, "Weight": "25"}
	secrets := analysistest.Secrets{"ci/token": "Bearer s3cret"}
	auth := []rampv1.Header{{Name: "Authorization", ValueFrom: &rampv1.SecretKeyRef{Name: "ci", Key: "token"}}}

	tests := []struct {
		name  string
		hook  rampv1.WebhookHook
		want  Answer
		check func(t *testing.T, s seen)
	}{
		{
			name: "a default body with every value",
			hook: rampv1.WebhookHook{URL: srv.URL + "/ok", Headers: auth},
			want: Answer{Code: 200, Pass: true, Message: "HTTP 200 OK"},
			check: func(t *testing.T, s seen) {
				var doc map[string]string
				if err := json.Unmarshal([]byte(s.body), &doc); err != nil || doc["rollout"] != "web" || doc["canaryService"] != `web-canary&x="1"` {
					t.Errorf("body %s: %v", s.body, err)
				}
				if s.method != "POST" || s.key != "key-1" || s.auth != "Bearer s3cret" || s.contentType != "application/json" {
					t.Errorf("request: %+v", s)
				}
			},
		},
		{
			name: "templates escape values for their place",
			hook: rampv1.WebhookHook{URL: srv.URL + "/ok?svc={{.CanaryService}}", Body: `{"svc": "{{.CanaryService}}"}`},
			want: Answer{Code: 200, Pass: true, Message: "HTTP 200 OK"},
			check: func(t *testing.T, s seen) {
				var doc map[string]string
				if err := json.Unmarshal([]byte(s.body), &doc); err != nil || doc["svc"] != `web-canary&x="1"` {
					t.Errorf("body %s: %v", s.body, err)
				}
				if s.query != "svc=web-canary%26x%3D%221%22" {
					t.Errorf("query %s", s.query)
				}
			},
		},
		{
			name: "GET has no body",
			hook: rampv1.WebhookHook{Method: "GET", URL: srv.URL + "/ok"},
			want: Answer{Code: 200, Pass: true, Message: "HTTP 200 OK"},
			check: func(t *testing.T, s seen) {
				if s.method != "GET" || s.body != "" {
					t.Errorf("request: %+v", s)
				}
			},
		},
		{
			name: "a failure quotes the answer",
			hook: rampv1.WebhookHook{URL: srv.URL + "/fail"},
			want: Answer{Code: 500, Message: "HTTP 500 Internal Server Error: 3 tests failed"},
		},
		{
			name: "success codes",
			hook: rampv1.WebhookHook{URL: srv.URL + "/teapot", SuccessCodes: []int32{418}},
			want: Answer{Code: 418, Pass: true, Message: "HTTP 418 I'm a teapot"},
		},
		{
			name: "a timeout",
			hook: rampv1.WebhookHook{URL: srv.URL + "/hang", Timeout: &metav1.Duration{Duration: 100 * time.Millisecond}},
			want: Answer{Message: "no answer within 100ms"},
		},
		{
			name: "an unknown template value",
			hook: rampv1.WebhookHook{URL: srv.URL + "/{{.Nope}}"},
			want: Answer{Message: `url template: template: url:1:`},
		},
		{
			name: "a missing Secret names it",
			hook: rampv1.WebhookHook{URL: srv.URL, Headers: []rampv1.Header{{Name: "X", ValueFrom: &rampv1.SecretKeyRef{Name: "gone", Key: "k"}}}},
			want: Answer{Message: "header X: secret gone has no key k"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Call(context.Background(), &tt.hook, v, secrets, "key-1")
			if a.Code != tt.want.Code || a.Pass != tt.want.Pass || !strings.HasPrefix(a.Message, tt.want.Message) {
				t.Errorf("answer %+v, want %+v", a, tt.want)
			}
			if strings.Contains(a.Message, "s3cret") {
				t.Errorf("the message shows the secret: %s", a.Message)
			}
			select {
			case s := <-got:
				if tt.check != nil {
					tt.check(t, s)
				}
			default:
				if tt.check != nil {
					t.Error("no request reached the server")
				}
			}
		})
	}
}

func TestTargetHidesTheQuery(t *testing.T) {
	h := &rampv1.WebhookHook{Method: "PUT", URL: "https://user:pw@ci.example/run/{{.Rollout}}?token=s3cret#x"}
	if got := Target(h, Values{"Rollout": "web"}); got != "PUT https://ci.example/run/web" {
		t.Errorf("target %q", got)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		base time.Duration
		n    int32
		want time.Duration
	}{
		{0, 1, time.Second}, {0, 2, 2 * time.Second}, {0, 4, 8 * time.Second},
		{10 * time.Second, 3, 40 * time.Second}, {10 * time.Second, 4, time.Minute}, {time.Second, 30, time.Minute},
	}
	for _, tt := range tests {
		h := &rampv1.WebhookHook{}
		if tt.base != 0 {
			h.RetryBackoff = &metav1.Duration{Duration: tt.base}
		}
		if got := Backoff(h, tt.n); got != tt.want {
			t.Errorf("Backoff(%s, %d) = %s, want %s", tt.base, tt.n, got, tt.want)
		}
	}
	if got := Attempts(&rampv1.WebhookHook{Retries: ptr.To[int32](2)}); got != 3 {
		t.Errorf("attempts %d", got)
	}
}
