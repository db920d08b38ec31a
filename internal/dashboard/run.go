package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/internal/scheme"
)

// Run serves the dashboard on ln until ctx is done, reading and writing
// with cfg's rights. ready is called once the cache has synced, with the
// page's address.
func Run(ctx context.Context, cfg *rest.Config, ln net.Listener, opts Options, ready func(url string)) error {
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "ramp-dashboard"
	}
	defer ln.Close() // also on an early return
	scheme := scheme.New()
	writer, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	var srv *Server // set before the cache starts, so before the first change
	c, err := NewCache(ctx, cfg, scheme, opts.Namespace, func(ns string) { srv.Changed(ns) })
	if err != nil {
		return err
	}
	srv = NewServer(c, writer, opts)

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cacheDone := make(chan error, 1)
	go func() { cacheDone <- c.Start(ctx) }()
	syncCtx, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	if !c.WaitForCacheSync(syncCtx) {
		cancel()
		if err := <-cacheDone; err != nil {
			return fmt.Errorf("reading the cluster: %w", err)
		}
		if parent.Err() != nil {
			return nil // stopped (Ctrl-C) before it was ready
		}
		return errors.New("reading the cluster: the watches did not sync within a minute")
	}

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		// Streams end with ctx, so Shutdown does not wait on them.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	if ready != nil {
		ready("http://" + ln.Addr().String() + "/")
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	return hs.Shutdown(shutdown)
}
