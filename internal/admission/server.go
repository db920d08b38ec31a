package admission

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/tlsserve"
)

// Options configure the admission webhook.
type Options struct {
	// Addr is the address to listen on, e.g. ":9444".
	Addr string
	// CertDir holds tls.crt and tls.key given by another (cert-manager);
	// empty, the controller keeps its own in Secret and gives the CA to
	// Configuration.
	CertDir string
	// Secret holds the certificates the controller keeps.
	Secret types.NamespacedName
	// Names are the DNS names and IP addresses the API server calls, e.g.
	// ramp-admission.ramp-system.svc.
	Names []string
	// Configuration is the ValidatingWebhookConfiguration given the CA.
	Configuration string
}

// Add serves the admission webhook from mgr, on every replica.
func Add(mgr ctrl.Manager, opts Options) error {
	l, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("admission endpoint: %w", err)
	}
	s := &server{listener: l, certDir: opts.CertDir, mux: http.NewServeMux()}
	if opts.CertDir == "" {
		if opts.Secret.Namespace == "" || len(opts.Names) == 0 || opts.Configuration == "" {
			return errors.New("admission certificates: give the namespace of their Secret, the names the API server calls, " +
				"and the ValidatingWebhookConfiguration, or a folder of certificates made by another (--admission-cert-dir)")
		}
		certs := NewCerts(mgr.GetAPIReader(), mgr.GetClient(), opts.Secret, opts.Names, opts.Configuration)
		if err := mgr.Add(certs); err != nil {
			return err
		}
		// A replica without a certificate yet takes no traffic.
		if err := mgr.AddReadyzCheck("admission-certificate", func(*http.Request) error {
			select {
			case <-certs.Ready():
				return nil
			default:
				return errors.New("no admission certificate yet")
			}
		}); err != nil {
			return err
		}
		s.certs = certs
	}
	scheme := mgr.GetScheme()
	s.mux.Handle(PathRollout, admission.WithValidator[*rampv1.Rollout](scheme, rollouts{reader: mgr.GetAPIReader(), mapper: mgr.GetRESTMapper()}))
	s.mux.Handle(PathAnalysisTemplate, admission.WithValidator(scheme, templates[*rampv1.AnalysisTemplate]{
		kind: "AnalysisTemplate", spec: func(t *rampv1.AnalysisTemplate) *rampv1.AnalysisTemplateSpec { return &t.Spec }}))
	s.mux.Handle(PathClusterAnalysisTemplate, admission.WithValidator(scheme, templates[*rampv1.ClusterAnalysisTemplate]{
		kind: "ClusterAnalysisTemplate", spec: func(t *rampv1.ClusterAnalysisTemplate) *rampv1.AnalysisTemplateSpec { return &t.Spec }}))
	s.mux.Handle(PathDeployment, &admission.Webhook{Handler: deployments{reader: mgr.GetAPIReader(), decoder: admission.NewDecoder(scheme)}})
	s.mux.Handle(PathStatefulSet, &admission.Webhook{Handler: statefulSets{reader: mgr.GetAPIReader(), decoder: admission.NewDecoder(scheme)}})
	return mgr.Add(s)
}

// server serves the webhooks over TLS.
type server struct {
	listener net.Listener
	certDir  string
	certs    *Certs
	mux      *http.ServeMux
}

// Start serves until ctx is done.
func (s *server) Start(ctx context.Context) error {
	cert := tlsserve.Certificate(nil)
	if s.certs != nil {
		cert = s.certs.GetCertificate
	} else {
		var err error
		if cert, err = tlsserve.FromDir(ctx, s.certDir); err != nil {
			return fmt.Errorf("admission endpoint TLS: %w", err)
		}
	}
	return tlsserve.Serve(ctx, s.listener, s.mux, cert)
}

// NeedLeaderElection is false: every replica serves admission.
func (s *server) NeedLeaderElection() bool { return false }
