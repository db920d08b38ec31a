package analysisrun

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// retryDelay is how soon a run whose status write lost a race is
// reconciled again.
const retryDelay = 100 * time.Millisecond

func microTime(t time.Time) *metav1.MicroTime { m := metav1.NewMicroTime(t); return &m }
