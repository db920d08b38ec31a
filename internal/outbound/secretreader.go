package outbound

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// SecretReader reads Secret values in one namespace, for the calls of the
// runs there. Values are never logged or put in messages; errors name the
// Secret and the key.
type SecretReader struct {
	Client    client.Reader
	Namespace string
}

// Value reads one key of one Secret.
func (s SecretReader) Value(ctx context.Context, ref rampv1.SecretKeyRef) (string, error) {
	secret := &corev1.Secret{}
	if err := s.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: ref.Name}, secret); err != nil {
		return "", fmt.Errorf("secret %s/%s: %w", s.Namespace, ref.Name, err)
	}
	v, ok := secret.Data[ref.Key]
	if !ok {
		return "", fmt.Errorf("secret %s/%s has no key %q", s.Namespace, ref.Name, ref.Key)
	}
	return string(v), nil
}
