package cli

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/internal/convert"
	"github.com/rampcd/ramp/internal/manifest"
)

// clusterKinds are what `ramp convert --cluster` reads: Argo's kinds, which
// it converts, and the objects that say what an Argo Rollout leaves
// unsaid (its root Service: a DestinationRule's host, an HTTPRoute's
// parent; a workloadRef's selector: the Deployment), which it only reads.
var clusterKinds = []struct {
	gvk     schema.GroupVersionKind
	convert bool
	cluster bool // cluster-scoped
}{
	{schema.GroupVersionKind{Group: convert.Group, Version: "v1alpha1", Kind: "Rollout"}, true, false},
	{schema.GroupVersionKind{Group: convert.Group, Version: "v1alpha1", Kind: "AnalysisTemplate"}, true, false},
	{schema.GroupVersionKind{Group: convert.Group, Version: "v1alpha1", Kind: "ClusterAnalysisTemplate"}, true, true},
	{schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"}, false, false},
	{schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}, false, false},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, false, false},
}

// clusterDocuments lists the objects of clusterKinds in namespace ns (every
// namespace when ns is ""), and says which of them are only read. A kind
// the cluster does not serve is skipped, except Argo's Rollout: without it
// there is nothing to convert.
func clusterDocuments(ctx context.Context, c client.Client, ns string) (docs []document, readOnly []bool, err error) {
	for _, k := range clusterKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
		var opts []client.ListOption
		if !k.cluster && ns != "" {
			opts = append(opts, client.InNamespace(ns))
		}
		err := c.List(ctx, list, opts...)
		switch {
		case meta.IsNoMatchError(err) && k.gvk.Kind == "Rollout":
			return nil, nil, fmt.Errorf("the cluster serves no %s Rollout: Argo Rollouts is not installed, so there is nothing to convert", k.gvk.GroupVersion())
		case meta.IsNoMatchError(err):
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("list %s: %w", k.gvk.Kind, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			u.SetGroupVersionKind(k.gvk) // a list's items may come without it
			docs = append(docs, document{file: "cluster", Document: manifest.Document{Index: len(docs) + 1, Object: u}})
			readOnly = append(readOnly, !k.convert)
		}
	}
	return docs, readOnly, nil
}
