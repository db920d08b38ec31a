package hooks

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/go-logr/logr"
)

// tokenBytes is the size of a callback token's random part.
const tokenBytes = 32

// NewToken returns a random single-use callback token and the SHA-256 to
// keep of it.
func NewToken() (token, hash string) {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the hex SHA-256 of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenMatches compares a presented token with a kept hash in constant
// time.
func TokenMatches(token, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashToken(token)), []byte(hash)) == 1
}

// CallbackPath is where a run's callbacks arrive, below the controller's
// callback URL.
func CallbackPath(namespace, name, token string) string {
	return fmt.Sprintf("/callbacks/%s/%s/%s", namespace, name, token)
}

// Verdict is what a test system reports in its callback.
type Verdict struct {
	Success bool
	Message string
}

// ErrRefused is returned (wrapped, with the reason) by a Receiver that
// refuses a callback: a wrong, used or expired token, or no callback
// awaited.
var ErrRefused = errors.New("callback refused")

// ErrUnknownRun is returned by a Receiver for a run that does not exist.
var ErrUnknownRun = errors.New("no such hook run")

// Receiver records a callback's verdict on its run, once, if token is the
// one the run awaits.
type Receiver interface {
	Receive(ctx context.Context, namespace, name, token string, v Verdict) error
}

// maxCallbackBody bounds a callback's body, maxMessage the message kept
// in status.
const (
	maxCallbackBody = 64 << 10
	maxMessage      = 1024
)

// CallbackHandler serves POST /callbacks/{namespace}/{name}/{token}. The
// body is {"success": true|false, "mdMessage": "..."} (or "message").
// Refusals are logged with their reason and never with the token.
func CallbackHandler(recv Receiver, log logr.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /callbacks/{namespace}/{name}/{token}", func(w http.ResponseWriter, r *http.Request) {
		ns, name := r.PathValue("namespace"), r.PathValue("name")
		log := log.WithValues("hookRun", ns+"/"+name, "remote", r.RemoteAddr)
		var body struct {
			Success   *bool  `json:"success"`
			MDMessage string `json:"mdMessage"`
			Message   string `json:"message"`
		}
		data, err := io.ReadAll(io.LimitReader(r.Body, maxCallbackBody+1))
		if err == nil && len(data) > maxCallbackBody {
			err = fmt.Errorf("the body is over %d bytes", maxCallbackBody)
		}
		if err == nil {
			err = json.Unmarshal(data, &body)
		}
		if err == nil && body.Success == nil {
			err = errors.New(`"success" (true or false) is required`)
		}
		if err != nil {
			log.Info("callback refused: bad body", "error", err.Error())
			http.Error(w, "bad callback body: "+err.Error()+`; send {"success": true|false, "mdMessage": "..."}`, http.StatusBadRequest)
			return
		}
		if !wellFormed(r.PathValue("token")) {
			// Not one of ours: refused before any read of the cluster.
			log.Info("callback refused", "reason", "malformed token")
			http.Error(w, "callback refused", http.StatusForbidden)
			return
		}
		msg := body.MDMessage
		if msg == "" {
			msg = body.Message
		}
		if len(msg) > maxMessage {
			msg = msg[:maxMessage] + "…"
		}
		err = recv.Receive(r.Context(), ns, name, r.PathValue("token"), Verdict{Success: *body.Success, Message: msg})
		switch {
		case err == nil:
			log.Info("callback accepted", "success", *body.Success)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"accepted": true}` + "\n"))
		case errors.Is(err, ErrRefused), errors.Is(err, ErrUnknownRun):
			// One answer for all refusals: a caller learns nothing from it.
			log.Info("callback refused", "reason", err.Error())
			http.Error(w, "callback refused", http.StatusForbidden)
		default:
			log.Error(err, "callback not recorded")
			http.Error(w, "callback not recorded, try again", http.StatusServiceUnavailable)
		}
	})
	return mux
}

// wellFormed reports whether token has the shape of those NewToken makes.
func wellFormed(token string) bool {
	b, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && len(b) == tokenBytes
}
