package hookrun

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// retryDelay is how soon a run whose status write lost a race is
// reconciled again; configRetry, one waiting on a fault in its spec that
// may be fixed outside it (a missing Secret).
const (
	retryDelay  = 100 * time.Millisecond
	configRetry = 30 * time.Second
)

func microTime(t time.Time) *metav1.MicroTime { m := metav1.NewMicroTime(t); return &m }
