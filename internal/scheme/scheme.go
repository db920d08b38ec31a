// Package scheme is the one runtime.Scheme of Ramp's clients: the
// Kubernetes types and Ramp's. The controller, the CLI and the dashboard
// all take it from here, without depending on one another.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// New returns a scheme that knows the Kubernetes and Ramp types.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := rampv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}
