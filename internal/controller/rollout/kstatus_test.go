package rollout

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// TestSetKstatus: Reconciling and Stalled follow the four conditions, and
// kstatus reads the result as the docs say (docs/gitops.md).
func TestSetKstatus(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		ready, prog, paused  bool
		rolledBack           bool
		reconciling, stalled metav1.ConditionStatus
		want                 status.Status
	}{
		{name: "healthy", ready: true, reconciling: "False", stalled: "False", want: status.CurrentStatus},
		{name: "scaling", prog: true, reconciling: "True", stalled: "False", want: status.InProgressStatus},
		{name: "ready, settling", ready: true, prog: true, reconciling: "True", stalled: "False", want: status.InProgressStatus},
		{name: "canary", prog: true, reconciling: "True", stalled: "False", want: status.InProgressStatus},
		{name: "paused canary", prog: true, paused: true, reconciling: "True", stalled: "False", want: status.InProgressStatus},
		{name: "rolling back", prog: true, rolledBack: true, reconciling: "False", stalled: "True", want: status.FailedStatus},
		{name: "rolled back", rolledBack: true, reconciling: "False", stalled: "True", want: status.FailedStatus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &rampv1.Rollout{TypeMeta: metav1.TypeMeta{APIVersion: "ramp.dev/v1alpha1", Kind: "Rollout"}}
			ro.Generation, ro.Status.ObservedGeneration = 3, 3
			cond := func(typ string, on bool) {
				s := metav1.ConditionFalse
				if on {
					s = metav1.ConditionTrue
				}
				meta.SetStatusCondition(&ro.Status.Conditions, metav1.Condition{Type: typ, Status: s, Reason: "R", Message: typ})
			}
			cond(rampv1.ConditionReady, tc.ready)
			cond(rampv1.ConditionProgressing, tc.prog)
			cond(rampv1.ConditionPaused, tc.paused)
			cond(rampv1.ConditionDegraded, tc.rolledBack)
			setKstatus(ro, tc.rolledBack)

			for typ, want := range map[string]metav1.ConditionStatus{rampv1.ConditionReconciling: tc.reconciling, rampv1.ConditionStalled: tc.stalled} {
				if c := meta.FindStatusCondition(ro.Status.Conditions, typ); c == nil || c.Status != want || c.ObservedGeneration != 3 {
					t.Errorf("%s = %+v, want %s at generation 3", typ, c, want)
				}
			}
			obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ro)
			if err != nil {
				t.Fatal(err)
			}
			res, err := status.Compute(&unstructured.Unstructured{Object: obj})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.want {
				t.Errorf("kstatus %s (%s), want %s", res.Status, res.Message, tc.want)
			}
		})
	}
}
