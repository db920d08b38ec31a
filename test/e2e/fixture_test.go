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
// inside its window makes it fail, and names the object.
func TestAssertQuietSeesWrites(t *testing.T) {
	rec := &failures{TB: t}
	e := fixture.New(t)
	quiet := &fixture.Env{T: rec, NS: e.NS, C: e.C}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "noisy", Namespace: e.NS}}
	e.Create(cm)
	go func() {
		time.Sleep(500 * time.Millisecond) // the write the window must catch
		cm.Data = map[string]string{"changed": "yes"}
		_ = e.C.Update(context.Background(), cm)
	}()
	quiet.AssertQuiet(2*time.Second, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"})
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "MODIFIED ConfigMap noisy") {
		t.Errorf("AssertQuiet reported %q, want one failure naming the modified ConfigMap", rec.errs)
	}
}
