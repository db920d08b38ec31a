package dashboard

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

func TestMain(m *testing.M) { fixture.Main(m) }

// TestRunOnTheCluster serves the dashboard in this process against the
// real API server, watching all namespaces: a Rollout created after the
// page opened appears on its stream, and an event about it on its page.
func TestRunOnTheCluster(t *testing.T) {
	e := fixture.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, clustertest.Config(t), ln, Options{}, func(url string) { urls <- url }) }()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}

	req, _ := http.NewRequestWithContext(ctx, "GET", url+"api/stream?namespace="+e.NS, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if msg := readEvent(t, r); len(msg.View.(map[string]any)["rollouts"].([]any)) != 0 {
		t.Fatalf("a new namespace has Rollouts: %+v", msg)
	}
	ro := e.Rollout("web", "web:v1", fixture.SetWeight(50))
	e.Create(ro)
	if msg := readEvent(t, r); len(msg.View.(map[string]any)["rollouts"].([]any)) != 1 {
		t.Fatalf("after a Rollout was created: %+v", msg)
	}

	// An event about it (selected by the cache's field indexes), and one
	// about something else, which the cache does not even hold.
	for _, kind := range []string{"Rollout", "Pod"} {
		e.Create(&eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "web-", Namespace: e.NS},
			EventTime:  metav1.NewMicroTime(time.Now()), ReportingController: "test", ReportingInstance: "test",
			Action: "Test", Reason: "Seen" + kind, Type: corev1.EventTypeNormal, Note: "about a " + kind,
			Regarding: corev1.ObjectReference{Kind: kind, Name: "web", Namespace: e.NS},
		})
	}
	detail, _ := http.NewRequestWithContext(ctx, "GET", url+"api/stream/"+e.NS+"/web", nil)
	dresp, err := http.DefaultClient.Do(detail)
	if err != nil {
		t.Fatal(err)
	}
	defer dresp.Body.Close()
	dr := bufio.NewReader(dresp.Body)
	for {
		msg := readEvent(t, dr)
		events := msg.View.(map[string]any)["events"].([]any)
		var reasons []string
		for _, ev := range events {
			reasons = append(reasons, ev.(map[string]any)["reason"].(string))
		}
		if len(reasons) == 1 && reasons[0] == "SeenRollout" {
			break
		}
		if len(reasons) > 1 {
			t.Fatalf("events on the page: %v", reasons)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after its context ended: %v", err)
	}
}
