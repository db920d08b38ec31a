package traffic

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Write is one of the two writes of a SetWeight: the selectors (which
// revision the stable and canary Services, or subsets, select) or the
// weights. It changes an object only where it differs, and returns what
// it changed.
type Write func() ([]Change, error)

// InOrder makes a SetWeight's two writes in the order that never sends a
// request to a revision without the pods for it: the weights first when
// they fall (WeightFirst: a rollback, a lower step, a canary replaced),
// the selectors first otherwise (a rising weight, a promotion).
func InOrder(weightsFirst bool, selectors, weights Write) ([]Change, error) {
	first, second := selectors, weights
	if weightsFirst {
		first, second = weights, selectors
	}
	changes, err := first()
	if err != nil {
		return changes, err
	}
	more, err := second()
	return append(changes, more...), err
}

// Update lets edit change obj and writes it back only if that changed
// anything, under an optimistic lock (a stale read fails rather than
// overwrite a newer version). moved reports a change of the spec, where
// traffic goes; written, any write (Ramp's annotations alone, too).
func Update(ctx context.Context, c client.Client, obj *unstructured.Unstructured, edit func() error) (moved, written bool, err error) {
	orig := obj.DeepCopy()
	if err := edit(); err != nil {
		return false, false, err
	}
	if equality.Semantic.DeepEqual(orig.Object, obj.Object) {
		return false, false, nil
	}
	if err := c.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, false, fmt.Errorf("update %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return !equality.Semantic.DeepEqual(orig.Object["spec"], obj.Object["spec"]), true, nil
}
