// Package request sends the requests people make of a Rollout — promote,
// promote in full, abort, retry, pause, resume — as the small patches the
// controller acts on. The CLI and the dashboard both send them.
package request

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Kind is one kind of request.
type Kind string

// The kinds of request.
const (
	Promote     Kind = "promote"
	PromoteFull Kind = "promote-full"
	Abort       Kind = "abort"
	Retry       Kind = "retry"
	Pause       Kind = "pause"
	Resume      Kind = "resume"
)

// Kinds lists every kind, in the order people see them.
var Kinds = []Kind{Promote, PromoteFull, Abort, Retry, Pause, Resume}

// Parse reads a request's name.
func Parse(s string) (Kind, error) {
	for _, r := range Kinds {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, len(Kinds))
	for i, r := range Kinds {
		names[i] = string(r)
	}
	return "", fmt.Errorf("unknown request %q: use one of %s", s, strings.Join(names, ", "))
}

// Patch is the merge patch that makes the request: a control annotation
// set to token (any string unique per request; the controller acts once per
// token), or spec.paused. It changes nothing else, so it never conflicts
// with the controller's writes.
func (r Kind) Patch(token string) []byte {
	annotation := map[Kind]string{
		Promote: rampv1.AnnotationPromote, PromoteFull: rampv1.AnnotationPromoteFull,
		Abort: rampv1.AnnotationAbort, Retry: rampv1.AnnotationRetry,
	}[r]
	if annotation == "" {
		return fmt.Appendf(nil, `{"spec":{"paused":%t}}`, r == Pause)
	}
	return fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, annotation, token)
}

// Send makes request r of the Rollout at key.
func Send(ctx context.Context, c client.Client, key client.ObjectKey, r Kind, token string) error {
	ro := &rampv1.Rollout{}
	ro.Namespace, ro.Name = key.Namespace, key.Name
	return c.Patch(ctx, ro, client.RawPatch(types.MergePatchType, r.Patch(token)))
}
