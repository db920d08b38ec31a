// Package analysistest holds helpers for testing analysis providers.
package analysistest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
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

// Want is what one measurement should give: a result, no data (Empty), an
// inconclusive answer or an error containing Err.
type Want struct {
	Result       any
	Empty        bool
	Inconclusive bool
	Err          string
}

// Check compares a provider's answer with want. No error may show secret.
func Check(t *testing.T, got any, err error, want Want, secret string) {
	t.Helper()
	if err != nil && secret != "" && strings.Contains(err.Error(), secret) {
		t.Errorf("the error shows the secret: %v", err)
	}
	switch {
	case want.Empty:
		if !errors.Is(err, analysis.ErrEmpty) {
			t.Fatalf("got %v, %v; want no data", got, err)
		}
	case want.Inconclusive:
		if !errors.Is(err, analysis.ErrInconclusive) || (want.Err != "" && !strings.Contains(err.Error(), want.Err)) {
			t.Fatalf("got %v, %v; want inconclusive with %q", got, err, want.Err)
		}
	case want.Err != "":
		if err == nil || !strings.Contains(err.Error(), want.Err) {
			t.Fatalf("got %v, %v; want an error with %q", got, err, want.Err)
		}
	case err != nil:
		t.Fatal(err)
	case !reflect.DeepEqual(got, want.Result):
		t.Errorf("got %#v, want %#v", got, want.Result)
	}
}
