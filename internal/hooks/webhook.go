package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/outbound"
)

// Defaults of a webhook.
const (
	DefaultTimeout         = 10 * time.Second
	DefaultRetryBackoff    = time.Second
	MaxRetryBackoff        = time.Minute
	DefaultCallbackTimeout = time.Hour
	// IdempotencyKeyHeader carries the same key on every attempt of one
	// hook run.
	IdempotencyKeyHeader = "Idempotency-Key"
	// maxQuoted bounds how much of a failing answer's body a message quotes.
	maxQuoted = 256
)

// Answer is the outcome of one call.
type Answer struct {
	// Code is the HTTP status; 0 when no answer came.
	Code int32
	// Pass: the status is one of the success codes.
	Pass    bool
	Message string
}

// Call makes one attempt of a webhook with values v. The request carries
// the hook's headers (Secret values read now) and key as its
// Idempotency-Key; nothing secret goes into the answer's message.
func Call(ctx context.Context, h *rampv1.WebhookHook, v Values, secrets outbound.Secrets, key string) Answer {
	method := h.Method
	if method == "" {
		method = http.MethodPost
	}
	target, err := v.Render("url", h.URL, outbound.URLEscape)
	if err != nil {
		return Answer{Message: err.Error()}
	}
	body := v.DefaultBody()
	if h.Body != "" {
		if body, err = v.Render("body", h.Body, outbound.JSONEscape); err != nil {
			return Answer{Message: err.Error()}
		}
	}
	client, err := outbound.NewClient(ctx, secrets, outbound.Settings{Headers: h.Headers, TLS: h.TLS})
	if err != nil {
		return Answer{Message: err.Error()}
	}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, Timeout(h))
	defer cancel()
	var reader io.Reader
	if method != http.MethodGet {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return Answer{Message: redactURL(err, target)}
	}
	if reader != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(IdempotencyKeyHeader, key)
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return Answer{Message: fmt.Sprintf("no answer within %s", Timeout(h))}
		}
		return Answer{Message: client.Redact(redactURL(err, target))}
	}
	defer resp.Body.Close()
	// Read well past what is quoted, so that a Secret the answer quotes
	// back is redacted whole before the quote is cut.
	quoted, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	a := Answer{Code: int32(resp.StatusCode), Pass: passes(h, resp.StatusCode)}
	a.Message = "HTTP " + resp.Status
	if !a.Pass {
		// The test system's words, but never a Secret it quotes back.
		if q := strings.TrimSpace(client.Redact(string(quoted))); q != "" {
			a.Message += ": " + cut(q, maxQuoted)
		}
	}
	return a
}

// URL is the webhook's URL with its values, escaped for a URL.
func URL(h *rampv1.WebhookHook, v Values) (string, error) {
	return v.Render("url", h.URL, outbound.URLEscape)
}

// Target names what a webhook calls, for people: the method and the URL
// without its query, which may carry secrets.
func Target(h *rampv1.WebhookHook, v Values) string {
	method := h.Method
	if method == "" {
		method = http.MethodPost
	}
	rendered, err := v.Render("url", h.URL, outbound.URLEscape)
	if err != nil {
		rendered = h.URL
	}
	return method + " " + stripQuery(rendered)
}

// Timeout is one attempt's.
func Timeout(h *rampv1.WebhookHook) time.Duration {
	if h.Timeout != nil {
		return h.Timeout.Duration
	}
	return DefaultTimeout
}

// CallbackTimeout is how long a callback is awaited after the call.
func CallbackTimeout(h *rampv1.WebhookHook) time.Duration {
	if h.Callback != nil && h.Callback.Timeout != nil {
		return h.Callback.Timeout.Duration
	}
	return DefaultCallbackTimeout
}

// Backoff is the wait before retry n (1 for the first): the hook's
// backoff, doubled at each retry, at most MaxRetryBackoff.
func Backoff(h *rampv1.WebhookHook, n int32) time.Duration {
	d := DefaultRetryBackoff
	if h.RetryBackoff != nil {
		d = h.RetryBackoff.Duration
	}
	for i := int32(1); i < n && d < MaxRetryBackoff; i++ {
		d *= 2
	}
	return min(d, MaxRetryBackoff)
}

// Attempts is how many calls a webhook may make in all.
func Attempts(h *rampv1.WebhookHook) int32 { return 1 + ptr.Deref(h.Retries, 0) }

func passes(h *rampv1.WebhookHook, code int) bool {
	if len(h.SuccessCodes) == 0 {
		return code/100 == 2
	}
	return slices.Contains(h.SuccessCodes, int32(code))
}

func stripQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		return raw + " (an invalid URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// redactURL words a transport error without the URL's query.
func redactURL(err error, target string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Sprintf("%s %s: %v", ue.Op, stripQuery(target), ue.Err)
	}
	return strings.ReplaceAll(err.Error(), target, stripQuery(target))
}

// cut shortens s to at most n bytes, on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
