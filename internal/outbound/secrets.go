package outbound

import (
	"context"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Secrets resolves Secret references for headers, tokens and TLS.
type Secrets interface {
	Value(ctx context.Context, ref rampv1.SecretKeyRef) (string, error)
}
