// Package analysistest holds helpers for testing analysis providers.
package analysistest

import (
	"context"
	"fmt"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Secrets resolves Secret references from a map keyed "name/key"; a
// reference it lacks is an error, as a missing Secret is in a cluster.
type Secrets map[string]string

// Value returns the value at ref.
func (s Secrets) Value(_ context.Context, ref rampv1.SecretKeyRef) (string, error) {
	v, ok := s[ref.Name+"/"+ref.Key]
	if !ok {
		return "", fmt.Errorf("secret %s has no key %s", ref.Name, ref.Key)
	}
	return v, nil
}
