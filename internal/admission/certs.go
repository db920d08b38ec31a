package admission

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,verbs=get;patch,resourceNames=ramp-admission
// (Writing the certificate Secret is a Role's, in the controller's
// namespace: config/admission/role.yaml.)

// Keys of the certificate Secret.
const (
	keyCA         = "ca.crt"
	keyCAKey      = "ca.key"
	keyPreviousCA = "ca-previous.crt"
	keyCert       = corev1.TLSCertKey
	keyKey        = corev1.TLSPrivateKeyKey
)

// Lifetimes. The serving certificate is renewed well before it expires,
// and the CA a year before: the API server is given the old CA and the new
// one together for that year, so no replica's certificate is ever one it
// does not trust.
const (
	caLifetime    = 10 * 365 * 24 * time.Hour
	caRenewal     = 365 * 24 * time.Hour
	certLifetime  = 365 * 24 * time.Hour
	certRenewal   = 90 * 24 * time.Hour
	checkInterval = time.Minute
)

// Certs keeps the admission webhook's certificates: a CA and a serving
// certificate in one Secret, made when missing and renewed before they
// expire, by whichever replica comes first (the Secret's resourceVersion
// settles races); and the CA in the ValidatingWebhookConfiguration, so
// that the API server trusts what the replicas serve.
//
// Why not cert-controller: it expects the Secret mounted as a volume and
// stops the process when the files do not appear, which rules out a
// controller run outside a pod; what is needed here is one Secret and one
// patch.
type Certs struct {
	// Reader reads directly: a cache would watch every Secret and
	// configuration, which the controller has no right to.
	Reader client.Reader
	Client client.Client
	// Secret holds the certificates.
	Secret types.NamespacedName
	// Names are the DNS names and IP addresses the API server calls.
	Names []string
	// Configuration is the ValidatingWebhookConfiguration to give the CA.
	Configuration string
	Clock         clock.PassiveClock

	current atomic.Pointer[tls.Certificate]
	ready   chan struct{}
}

// GetCertificate serves the current certificate.
func (c *Certs) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if cert := c.current.Load(); cert != nil {
		return cert, nil
	}
	return nil, errors.New("no admission certificate yet")
}

// Ready is closed once a certificate is served.
func (c *Certs) Ready() <-chan struct{} { return c.ready }

// Start keeps the certificates until ctx is done.
func (c *Certs) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("admission-certs")
	t := time.NewTicker(checkInterval)
	defer t.Stop()
	for {
		if err := c.Ensure(ctx); err != nil {
			logger.Error(err, "admission certificates", "secret", c.Secret.String(), "configuration", c.Configuration)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// NeedLeaderElection is false: every replica serves admission.
func (c *Certs) NeedLeaderElection() bool { return false }

// NewCerts returns certificates to keep.
func NewCerts(r client.Reader, cl client.Client, secret types.NamespacedName, names []string, configuration string) *Certs {
	return &Certs{Reader: r, Client: cl, Secret: secret, Names: names, Configuration: configuration, Clock: clock.RealClock{}, ready: make(chan struct{})}
}

// Ensure makes or renews what is missing or due, gives the API server the
// CA, and serves the result. A certificate signed by a new CA is served
// only once the API server has that CA: until then the one it trusts
// stays.
func (c *Certs) Ensure(ctx context.Context) error {
	var s *corev1.Secret
	var err error
	for range 3 { // another replica's write won the race: read it
		if s, err = c.store(ctx); err == nil || !(apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err)) {
			break
		}
	}
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(s.Data[keyCert], s.Data[keyKey])
	if err != nil {
		return fmt.Errorf("certificates in Secret %s: %w", c.Secret, err)
	}
	injectErr := c.inject(ctx, append(bytes.Clone(s.Data[keyCA]), s.Data[keyPreviousCA]...))
	if injectErr != nil && c.current.Load() != nil {
		return injectErr
	}
	if c.current.Swap(&cert) == nil {
		close(c.ready)
	}
	return injectErr
}

// store reads the Secret, and makes or renews in it what is missing or due.
func (c *Certs) store(ctx context.Context) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := c.Reader.Get(ctx, c.Secret, s)
	switch {
	case apierrors.IsNotFound(err):
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: c.Secret.Namespace, Name: c.Secret.Name,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "ramp"}}, Type: corev1.SecretTypeTLS}
		if err := c.renew(s); err != nil {
			return nil, err
		}
		if err := c.Client.Create(ctx, s); err != nil {
			return nil, fmt.Errorf("create Secret %s: %w", c.Secret, err)
		}
	case err != nil:
		return nil, fmt.Errorf("read Secret %s: %w", c.Secret, err)
	case c.due(s):
		orig := s.DeepCopy()
		if err := c.renew(s); err != nil {
			return nil, err
		}
		if err := c.Client.Patch(ctx, s, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return nil, fmt.Errorf("renew certificates in Secret %s: %w", c.Secret, err)
		}
	}
	return s, nil
}

// due reports whether the Secret's certificates must be renewed: missing,
// expiring, not for these names, or not signed by its CA.
func (c *Certs) due(s *corev1.Secret) bool {
	now := c.Clock.Now()
	ca, err := parseCert(s.Data[keyCA])
	if err != nil || now.Add(caRenewal).After(ca.NotAfter) {
		return true
	}
	cert, err := parseCert(s.Data[keyCert])
	if err != nil || now.Add(certRenewal).After(cert.NotAfter) || cert.CheckSignatureFrom(ca) != nil {
		return true
	}
	for _, n := range c.Names {
		if cert.VerifyHostname(n) != nil {
			return true
		}
	}
	return false
}

// renew fills s with a serving certificate, and a new CA when its CA is
// missing or due (the old one stays trusted beside it).
func (c *Certs) renew(s *corev1.Secret) error {
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	now := c.Clock.Now()
	ca, caErr := parseCert(s.Data[keyCA])
	caKey, keyErr := parseKey(s.Data[keyCAKey])
	if caErr != nil || keyErr != nil || now.Add(caRenewal).After(ca.NotAfter) {
		if caErr == nil {
			s.Data[keyPreviousCA] = s.Data[keyCA]
		}
		var err error
		if ca, caKey, err = c.newCA(now); err != nil {
			return err
		}
		s.Data[keyCA] = pemBlock("CERTIFICATE", ca.Raw)
		der, err := x509.MarshalECPrivateKey(caKey)
		if err != nil {
			return err
		}
		s.Data[keyCAKey] = pemBlock("EC PRIVATE KEY", der)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: c.Names[0]},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certLifetime),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range c.Names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	s.Data[keyCert], s.Data[keyKey] = pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", keyDER)
	return nil
}

func (c *Certs) newCA(now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "ramp-admission-ca", Organization: []string{"ramp"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(caLifetime),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	return ca, key, err
}

// inject gives every webhook of the configuration the CA bundle: the
// ValidatingWebhookConfiguration, and the MutatingWebhookConfiguration of
// the same name where one is installed (it holds Deployments run in
// place; an install without it serves validation alone).
func (c *Certs) inject(ctx context.Context, bundle []byte) error {
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := c.Reader.Get(ctx, client.ObjectKey{Name: c.Configuration}, validating); err != nil {
		return fmt.Errorf("read ValidatingWebhookConfiguration %s (install it, or run without admission): %w", c.Configuration, err)
	}
	var given []string
	orig := validating.DeepCopy()
	if giveCA(bundle, validating.Webhooks, func(w *admissionregistrationv1.ValidatingWebhook) *admissionregistrationv1.WebhookClientConfig {
		return &w.ClientConfig
	}) {
		if err := c.Client.Patch(ctx, validating, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return fmt.Errorf("give ValidatingWebhookConfiguration %s the CA: %w", c.Configuration, err)
		}
		given = append(given, "ValidatingWebhookConfiguration")
	}
	mutating := &admissionregistrationv1.MutatingWebhookConfiguration{}
	err := c.Reader.Get(ctx, client.ObjectKey{Name: c.Configuration}, mutating)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("read MutatingWebhookConfiguration %s: %w", c.Configuration, err)
	default:
		orig := mutating.DeepCopy()
		if giveCA(bundle, mutating.Webhooks, func(w *admissionregistrationv1.MutatingWebhook) *admissionregistrationv1.WebhookClientConfig {
			return &w.ClientConfig
		}) {
			if err := c.Client.Patch(ctx, mutating, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
				return fmt.Errorf("give MutatingWebhookConfiguration %s the CA: %w", c.Configuration, err)
			}
			given = append(given, "MutatingWebhookConfiguration")
		}
	}
	if len(given) > 0 {
		log.FromContext(ctx).Info("admission CA given to the API server", "configuration", c.Configuration, "kinds", given)
	}
	return nil
}

// giveCA sets the bundle on every webhook, and reports whether any lacked it.
func giveCA[W any](bundle []byte, webhooks []W, config func(*W) *admissionregistrationv1.WebhookClientConfig) bool {
	changed := false
	for i := range webhooks {
		if cc := config(&webhooks[i]); !bytes.Equal(cc.CABundle, bundle) {
			cc.CABundle, changed = bundle, true
		}
	}
	return changed
}

func parseCert(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

func parseKey(data []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM key")
	}
	return x509.ParseECPrivateKey(b.Bytes)
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
