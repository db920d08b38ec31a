package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/rampcd/ramp/test/fixture"
)

// failures is a testing.TB that records Errorf instead of failing.
type failures struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

// TestAssertQuietSeesWrites checks the at-rest assertion itself: a write
// inside its window makes it fail, and names the object; a write of the
// status alone (a gateway reporting what it applied) does not.
func TestAssertQuietSeesWrites(t *testing.T) {
	rec := &failures{TB: t}
	e := fixture.New(t)
	quiet := &fixture.Env{T: rec, NS: e.NS, C: e.C}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "noisy", Namespace: e.NS},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	e.Create(svc)
	go func() {
		time.Sleep(300 * time.Millisecond) // the writes the window must judge
		svc.Status.Conditions = []metav1.Condition{{Type: "Applied", Status: metav1.ConditionTrue,
			Reason: "Applied", LastTransitionTime: metav1.Now()}}
		if err := e.C.Status().Update(context.Background(), svc); err != nil {
			t.Error(err)
			return
		}
		svc.Labels = map[string]string{"changed": "yes"}
		if err := e.C.Update(context.Background(), svc); err != nil {
			t.Error(err)
		}
	}()
	quiet.AssertQuiet(2*time.Second, schema.GroupVersionKind{Version: "v1", Kind: "Service"})
	if len(rec.errs) != 1 || strings.Count(rec.errs[0], "MODIFIED Service noisy") != 1 {
		t.Errorf("AssertQuiet reported %q, want one failure naming the Service's labelled write and not its status write", rec.errs)
	}
}
