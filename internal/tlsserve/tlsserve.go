// Package tlsserve serves an HTTP handler over TLS until a context ends,
// with certificates from a folder (reloaded when they change) or from a
// function. The callback endpoint and the admission webhook both serve
// this way.
package tlsserve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// Certificate gives the certificate for a handshake.
type Certificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)

// FromDir reads tls.crt and tls.key in dir, and again whenever they change,
// until ctx is done.
func FromDir(ctx context.Context, dir string) (Certificate, error) {
	w, err := certwatcher.New(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		return nil, err
	}
	go func() { _ = w.Start(ctx) }()
	return w.GetCertificate, nil
}

// Serve serves h on l until ctx is done: over TLS with cert, or plain
// HTTP when cert is nil.
func Serve(ctx context.Context, l net.Listener, h http.Handler, cert Certificate) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	if cert != nil {
		l = tls.NewListener(l, &tls.Config{GetCertificate: cert, MinVersion: tls.VersionTLS12})
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", l.Addr(), err)
	}
	return nil
}
