// Package manager assembles Ramp's controller process: the
// controller-runtime manager, its caches, health and metrics endpoints,
// leader election, and the reconcilers.
package manager

import (
	"cmp"
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/rampcd/ramp/internal/admission"
	"github.com/rampcd/ramp/internal/controller/analysisrun"
	"github.com/rampcd/ramp/internal/controller/hookrun"
	"github.com/rampcd/ramp/internal/controller/rollout"
	"github.com/rampcd/ramp/internal/outbound"
	"github.com/rampcd/ramp/internal/scheme"
	"github.com/rampcd/ramp/internal/shard"
)

// Options configure the controller process.
type Options struct {
	// MetricsAddr serves Prometheus metrics ("0" turns them off).
	MetricsAddr string
	// ProbeAddr serves /healthz and /readyz ("0" turns them off).
	ProbeAddr string
	// PprofAddr serves Go's profiles under /debug/pprof/ ("" or "0": off).
	PprofAddr string
	// LeaderElect makes replicas elect one leader through a Lease.
	LeaderElect bool
	// LeaderElectionNamespace holds the Leases, of leader election or of
	// shards (default: in-cluster namespace).
	LeaderElectionNamespace string
	// Shards above 1 spread the Rollouts over every replica, each
	// reconciling the shards it holds (see package shard); it excludes
	// LeaderElect.
	Shards int
	// Namespaces limit the controller to these namespaces (none: all).
	Namespaces []string
	// Concurrency is the number of Rollouts reconciled at once.
	Concurrency int
	// AnalysisConcurrency bounds the provider queries in flight (one per
	// AnalysisRun reconciled at once); HookConcurrency the hooks calling
	// out. Zero means 10.
	AnalysisConcurrency, HookConcurrency int
	// WebhookAllowlist limits the hosts webhooks may call (see
	// outbound.Allowlist); empty, any.
	WebhookAllowlist []string
	// CallbackAddr serves webhook callbacks ("" turns them off).
	CallbackAddr string
	// CallbackURL is the base URL test systems use to reach CallbackAddr,
	// e.g. https://ramp-callbacks.ramp-system.svc:9443 (default: the
	// listener's address).
	CallbackURL string
	// CallbackCertDir holds tls.crt and tls.key to serve callbacks over
	// TLS (empty: plain HTTP).
	CallbackCertDir string
	// Admission serves the validating admission webhook (nil: not).
	Admission *admission.Options
	// InProcessTest allows several controllers in one process, as tests
	// that each run their own do.
	InProcessTest bool
}

// FieldManager is the field manager of every write the reconcilers make:
// managedFields name it as the owner of what Ramp writes.
const FieldManager = "ramp-controller"

// Run runs the controller until ctx is done.
func Run(ctx context.Context, cfg *rest.Config, opts Options) error {
	allowlist, err := outbound.ParseAllowlist(opts.WebhookAllowlist)
	if err != nil {
		return err
	}
	cacheOpts := cache.Options{DefaultTransform: stripUnread}
	if len(opts.Namespaces) > 0 {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range opts.Namespaces {
			cacheOpts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	id, err := replicaIdentity()
	if err != nil {
		return err
	}
	cfg = withIdentity(cfg, id)
	mgrOpts := ctrl.Options{
		Scheme:                        scheme.New(),
		Cache:                         cacheOpts,
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:        opts.ProbeAddr,
		PprofBindAddress:              opts.PprofAddr,
		LeaderElection:                opts.LeaderElect,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 ptr.To(leaseDuration),
		RenewDeadline:                 ptr.To(renewDeadline),
		RetryPeriod:                   ptr.To(retryPeriod),
		Controller: config.Controller{
			MaxConcurrentReconciles: max(1, opts.Concurrency),
			SkipNameValidation:      ptr.To(opts.InProcessTest),
		},
		Client: client.Options{Cache: &client.CacheOptions{
			// Pods and Secrets are read rarely and directly; never cache them.
			DisableFor: []client.Object{&corev1.Secret{}, &corev1.Pod{}},
			// Routing objects (unstructured) are read from the informers
			// that watch them: no GET on the hot path of a shift or a
			// rollback. Every write of one carries the resourceVersion it
			// read, so a stale read fails and the pass runs again.
			Unstructured: true,
		}},
		GracefulShutdownTimeout: ptr.To(10 * time.Second),
	}
	if opts.Shards > 1 && opts.LeaderElect {
		return fmt.Errorf("--shards %d and --leader-elect both set: shards keep every replica active, each on its share of the Rollouts; leader election keeps one active. Choose one", opts.Shards)
	}
	var lock *fence
	var quiet *shard.Quiet
	if opts.LeaderElect {
		if lock, quiet, err = leaderFence(cfg, opts.LeaderElectionNamespace, id); err != nil {
			return err
		}
		mgrOpts.LeaderElectionResourceLockInterface = lock
	}
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	// The reconcilers write through the fence (when there is a Lease to
	// lose); the callback server, which runs on every replica, does not.
	// Every write names Ramp's field manager, whatever the user agent, so
	// that managedFields say which fields are Ramp's (and GitOps tools can
	// be told to leave them: docs/gitops.md).
	writer, events := client.WithFieldOwner(mgr.GetClient(), FieldManager), mgr.GetEventRecorder
	var shards *shard.Set
	switch {
	case lock != nil:
		if err := mgr.Add(quiet); err != nil {
			return err
		}
		writer = lock.Client(writer)
		events = func(name string) recorder.EventRecorder { return lock.Recorder(mgr.GetEventRecorder(name)) }
	case opts.Shards > 1:
		if shards, err = newShards(cfg, opts.LeaderElectionNamespace, id, opts.Shards); err != nil {
			return err
		}
		if err := mgr.Add(shards); err != nil {
			return err
		}
		writer = fencedClient{Client: writer, check: shards.Check}
		events = func(name string) recorder.EventRecorder {
			return fencedRecorder{EventRecorder: mgr.GetEventRecorder(name), check: shards.CheckObject}
		}
	}
	if err := (&rollout.Reconciler{
		Client:   writer,
		Scheme:   mgr.GetScheme(),
		Recorder: events("ramp-controller"),
		Shards:   shards,
	}).SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("set up Rollout controller: %w", err)
	}
	if err := (&analysisrun.Reconciler{
		Client:      writer,
		Recorder:    events("ramp-analysis"),
		Concurrency: cmp.Or(opts.AnalysisConcurrency, 10),
		Shards:      shards,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up AnalysisRun controller: %w", err)
	}
	callbackURL := ""
	if opts.CallbackAddr != "" {
		srv, base, err := listenCallbacks(mgr, opts)
		if err != nil {
			return err
		}
		if err := mgr.Add(srv); err != nil {
			return err
		}
		callbackURL = base
	}
	if opts.Admission != nil {
		if err := admission.Add(mgr, *opts.Admission); err != nil {
			return err
		}
	}
	if err := (&hookrun.Reconciler{
		Client:      writer,
		APIReader:   mgr.GetAPIReader(),
		Recorder:    events("ramp-hooks"),
		CallbackURL: callbackURL,
		Allowlist:   allowlist,
		Concurrency: cmp.Or(opts.HookConcurrency, 10),
		Shards:      shards,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up HookRun controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// lastApplied is the annotation kubectl apply keeps a whole copy of the
// object in.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// stripUnread drops from every cached object what Ramp never reads: its
// managed fields and kubectl's last-applied copy, often most of its size.
// Ramp writes cached objects by patches computed against the cached copy,
// which leave both alone on the server.
func stripUnread(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil // not an object (a tombstone): kept as it is
	}
	if obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	if a := obj.GetAnnotations(); a[lastApplied] != "" {
		delete(a, lastApplied)
		obj.SetAnnotations(a)
	}
	return in, nil
}
