package dataplane

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// Plane is the pods' servers and the mesh for one namespace.
type Plane struct {
	Pods   *Pods
	Mesh   *Mesh
	cancel context.CancelFunc
}

// Start watches the namespace's pods, serving each ready one (and listing
// it in targetsFile for Prometheus), and starts the mesh.
func Start(ctx context.Context, cfg *rest.Config, namespace, targetsFile string) (*Plane, error) {
	ctx, cancel := context.WithCancel(ctx)
	c, err := cache.New(cfg, cache.Options{
		Scheme:            clientgoscheme.Scheme,
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
	})
	if err != nil {
		cancel()
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	pods := NewPods(targetsFile)
	if err := pods.writeTargets(); err != nil { // Prometheus wants the file to exist
		cancel()
		return nil, err
	}
	inf, err := c.GetInformer(ctx, &corev1.Pod{})
	if err != nil {
		cancel()
		return nil, err
	}
	sync := func(obj any, deleted bool) {
		if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj, deleted = tomb.Obj, true
		}
		if pod, ok := obj.(*corev1.Pod); ok {
			if err := pods.Sync(pod, deleted); err != nil {
				fmt.Fprintln(os.Stderr, "dataplane:", err)
			}
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { sync(obj, false) },
		UpdateFunc: func(_, obj any) { sync(obj, false) },
		DeleteFunc: func(obj any) { sync(obj, true) },
	}); err != nil {
		cancel()
		return nil, err
	}
	if !c.WaitForCacheSync(ctx) {
		cancel()
		return nil, fmt.Errorf("dataplane: caches did not sync")
	}
	mesh, err := NewMesh(c, namespace)
	if err != nil {
		cancel()
		return nil, err
	}
	return &Plane{Pods: pods, Mesh: mesh, cancel: cancel}, nil
}

// Close stops the mesh, the pods' servers and the watches.
func (p *Plane) Close() {
	p.Mesh.Close()
	p.Pods.Close()
	p.cancel()
}
