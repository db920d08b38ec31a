package admission

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/rampcd/ramp/internal/scheme"
)

// TestCertsLifecycle makes the certificates, renews the serving one
// before it expires, then the CA, keeping the old CA trusted beside it.
func TestCertsLifecycle(t *testing.T) {
	ctx := context.Background()
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "ramp-admission"},
		Webhooks:   []admissionregistrationv1.ValidatingWebhook{{Name: "a.ramp.dev"}, {Name: "b.ramp.dev"}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(cfg).Build()
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	certs := NewCerts(c, c, types.NamespacedName{Namespace: "ramp-system", Name: "ramp-admission-tls"},
		[]string{"ramp-admission.ramp-system.svc", "127.0.0.1"}, "ramp-admission")
	certs.Clock = clk

	state := func() (serving *x509.Certificate, bundle []*x509.Certificate) {
		t.Helper()
		if err := certs.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		cert, err := certs.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		serving, err = x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		got := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := c.Get(ctx, client.ObjectKey{Name: "ramp-admission"}, got); err != nil {
			t.Fatal(err)
		}
		for _, w := range got.Webhooks {
			if string(w.ClientConfig.CABundle) != string(got.Webhooks[0].ClientConfig.CABundle) {
				t.Fatalf("webhooks given different CAs")
			}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(got.Webhooks[0].ClientConfig.CABundle) {
			t.Fatalf("caBundle holds no certificate")
		}
		for rest := got.Webhooks[0].ClientConfig.CABundle; len(rest) > 0; {
			ca, err := parseCert(rest)
			if err != nil {
				break
			}
			bundle = append(bundle, ca)
			rest = rest[len(pemBlock("CERTIFICATE", ca.Raw)):]
		}
		for _, name := range certs.Names {
			if _, err := serving.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, CurrentTime: clk.Now()}); err != nil {
				t.Fatalf("the API server would not trust the certificate for %s: %v", name, err)
			}
		}
		return serving, bundle
	}

	first, bundle := state()
	if len(bundle) != 1 {
		t.Fatalf("caBundle holds %d CAs, want 1", len(bundle))
	}
	if again, _ := state(); again.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Errorf("a certificate not due was renewed")
	}

	clk.SetTime(first.NotAfter.Add(-certRenewal + time.Hour))
	renewed, bundle2 := state()
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 || !renewed.NotAfter.After(first.NotAfter) {
		t.Errorf("the serving certificate was not renewed %s before it ends", certRenewal)
	}
	if !bundle2[0].Equal(bundle[0]) {
		t.Errorf("the CA changed with the serving certificate")
	}

	clk.SetTime(bundle[0].NotAfter.Add(-caRenewal + time.Hour))
	_, bundle3 := state()
	if len(bundle3) != 2 || bundle3[0].Equal(bundle[0]) || !bundle3[1].Equal(bundle[0]) {
		t.Errorf("after the CA's renewal the bundle holds %d CAs; want the new one, then the old one", len(bundle3))
	}

	s := &corev1.Secret{}
	if err := c.Get(ctx, certs.Secret, s); err != nil {
		t.Fatal(err)
	}
	if s.Type != corev1.SecretTypeTLS || len(s.Data[keyCAKey]) == 0 {
		t.Errorf("Secret: type %s, keys %d", s.Type, len(s.Data))
	}
}
