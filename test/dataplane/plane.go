package dataplane

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Options shape a data plane.
type Options struct {
	// TargetsFile, if set, lists the pods' servers for Prometheus.
	TargetsFile string
	// Grace is how long a pod's server goes on answering once its pod is
	// being deleted (an app with a preStop sleep); zero, it stops at once.
	Grace time.Duration
	// Mesh shapes the mesh stand-in: its proxies and their lag.
	Mesh MeshOptions
}

// Plane is the pods' servers and the mesh for one namespace.
type Plane struct {
	Pods   *Pods
	Mesh   *Mesh
	cancel context.CancelFunc
}

// Start watches the namespace's pods, serving each ready one (and listing
// it for Prometheus), and starts the mesh, which watches the Services and
// the routing objects as well.
func Start(ctx context.Context, cfg *rest.Config, namespace string, opts Options) (*Plane, error) {
	ctx, cancel := context.WithCancel(ctx)
	p, err := start(ctx, cfg, namespace, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	p.cancel = cancel
	return p, nil
}

func start(ctx context.Context, cfg *rest.Config, namespace string, opts Options) (*Plane, error) {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            clientgoscheme.Scheme,
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
	})
	if err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	writer, err := client.New(cfg, client.Options{Scheme: clientgoscheme.Scheme})
	if err != nil {
		return nil, err
	}
	pods := NewPods(opts.TargetsFile, opts.Grace)
	if err := pods.writeTargets(); err != nil { // Prometheus wants the file to exist
		return nil, err
	}
	var mesh atomic.Pointer[Mesh] // set once the caches are in sync
	kick := func() {
		if m := mesh.Load(); m != nil {
			m.Kick()
		}
	}
	var sync func(obj any, deleted bool)
	sync = func(obj any, deleted bool) {
		if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj, deleted = tomb.Obj, true
		}
		if pod, ok := obj.(*corev1.Pod); ok {
			if err := pods.Sync(pod, deleted); err != nil {
				fmt.Fprintln(os.Stderr, "dataplane:", err)
				if errors.Is(err, syscall.EADDRINUSE) {
					// kwok gave the pod an address that another
					// namespace's pod held, whose plane has not seen it go
					// yet: try again shortly, with the pod as it is then.
					time.AfterFunc(100*time.Millisecond, func() {
						cur := &corev1.Pod{}
						if err := c.Get(ctx, client.ObjectKeyFromObject(pod), cur); err == nil && cur.UID == pod.UID {
							sync(cur, false)
						}
					})
				}
			}
		}
		kick()
	}
	watched := []client.Object{&corev1.Pod{}, &corev1.Service{}}
	for _, gvk := range servedRoutingKinds(writer.RESTMapper()) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		watched = append(watched, u)
	}
	for _, obj := range watched {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, err
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { sync(obj, false) },
			UpdateFunc: func(_, obj any) { sync(obj, false) },
			DeleteFunc: func(obj any) { sync(obj, true) },
		}); err != nil {
			return nil, err
		}
	}
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("dataplane: caches did not sync")
	}
	m, err := NewMesh(ctx, c, writer, namespace, opts.Mesh)
	if err != nil {
		return nil, err
	}
	mesh.Store(m)
	m.Kick() // what changed while the mesh was being made
	return &Plane{Pods: pods, Mesh: m}, nil
}

// servedRoutingKinds are the routing kinds the cluster serves, each at the
// version the mesh reads.
func servedRoutingKinds(mapper meta.RESTMapper) []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for _, v := range trafficSplitVersions {
		gvk := schema.GroupVersionKind{Group: "split.smi-spec.io", Version: v, Kind: "TrafficSplit"}
		if _, err := mapper.RESTMapping(gvk.GroupKind(), v); err == nil {
			out = append(out, gvk)
			break
		}
	}
	for _, gvk := range []schema.GroupVersionKind{httpRouteGVK, virtualServiceGVK, destinationRuleGVK} {
		if _, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil {
			out = append(out, gvk)
		}
	}
	return out
}

// Close stops the mesh, the pods' servers and the watches.
func (p *Plane) Close() {
	p.Mesh.Close()
	p.Pods.Close()
	p.cancel()
}
