package manager

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/rampcd/ramp/internal/controller/hookrun"
	"github.com/rampcd/ramp/internal/hooks"
	"github.com/rampcd/ramp/internal/tlsserve"
)

// callbackServer serves webhook callbacks on every replica, leader or not:
// a callback's write is checked against the run's resourceVersion, so any
// replica may record it.
type callbackServer struct {
	listener net.Listener
	handler  http.Handler
	certDir  string
}

// listenCallbacks opens the callback listener and returns the server and
// the base URL test systems are given: opts.CallbackURL, or the listener's
// own address when it is a specific one (":9443" is no address to give).
func listenCallbacks(mgr ctrl.Manager, opts Options) (*callbackServer, string, error) {
	l, err := net.Listen("tcp", opts.CallbackAddr)
	if err != nil {
		return nil, "", fmt.Errorf("callback endpoint: %w", err)
	}
	base := opts.CallbackURL
	if tcp, ok := l.Addr().(*net.TCPAddr); ok && base == "" && !tcp.IP.IsUnspecified() {
		// Bound to one address (a test, a laptop): that one is reachable.
		scheme := "http"
		if opts.CallbackCertDir != "" {
			scheme = "https"
		}
		base = scheme + "://" + l.Addr().String()
	}
	if base == "" {
		mgr.GetLogger().Info("webhook callbacks are served but have no public address: webhooks that wait " +
			"for a callback will fail until --callback-url is set")
	}
	recv := &hookrun.CallbackReceiver{
		Reader: mgr.GetAPIReader(), Writer: client.WithFieldOwner(mgr.GetClient(), FieldManager), Recorder: mgr.GetEventRecorder("ramp-hooks"),
		Clock: clock.RealClock{},
	}
	return &callbackServer{
		listener: l, certDir: opts.CallbackCertDir,
		handler: hooks.CallbackHandler(recv, mgr.GetLogger().WithName("callbacks")),
	}, base, nil
}

// Start serves until ctx is done.
func (s *callbackServer) Start(ctx context.Context) error {
	var cert tlsserve.Certificate
	if s.certDir != "" {
		var err error
		if cert, err = tlsserve.FromDir(ctx, s.certDir); err != nil {
			return fmt.Errorf("callback endpoint TLS: %w", err)
		}
	}
	return tlsserve.Serve(ctx, s.listener, s.handler, cert)
}

// NeedLeaderElection is false: callbacks are served on every replica.
func (s *callbackServer) NeedLeaderElection() bool { return false }
