package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// meshed is a test's namespace with the mesh stand-in (one proxy, no lag,
// unless mesh says otherwise) and the controller running.
func meshed(t *testing.T, mesh ...dataplane.MeshOptions) (*fixture.Env, *dataplane.Plane) {
	t.Helper()
	e := fixture.New(t)
	opts := dataplane.MeshOptions{Proxies: 1}
	if len(mesh) > 0 {
		opts = mesh[0]
	}
	plane, err := dataplane.Start(context.Background(), clustertest.Config(t), e.NS, dataplane.Options{Mesh: opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plane.Close)
	e.StartController()
	return e, plane
}

// TestHeaderAndCookieRoutes: a canary at weight 0 gets the requests of
// testers (a header) and beta users (a cookie) through the mesh stand-in,
// everyone else stays on the stable version, and the user's own rules,
// matches and filters stay byte for byte. The abort takes the routes away.
func TestHeaderAndCookieRoutes(t *testing.T) {
	t.Parallel()
	for _, router := range []fixture.Router{fixture.GatewayAPI, fixture.Istio} {
		t.Run(string(router), func(t *testing.T) {
			t.Parallel()
			e, plane := meshed(t)

			ro := e.Rollout("web", "web:v1",
				rampv1.Step{SetHeaderRoute: &rampv1.HeaderRoute{Name: "testers", Match: []rampv1.HeaderMatch{
					{Name: "X-Canary", Value: rampv1.StringMatch{Exact: ptr.To("yes")}}}}},
				rampv1.Step{SetCookieRoute: &rampv1.CookieRoute{Name: "beta", Cookie: "beta", Value: &rampv1.StringMatch{Prefix: ptr.To("on")}}},
				fixture.Pause(0))
			ro.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
			e.Route(ro, router)
			if router == fixture.Istio {
				ro.Spec.Strategy.Canary.TrafficRouting.Istio.VirtualService.HTTPRouteName = "primary"
			}
			mine, before := userRouting(t, e, router)
			e.Create(ro)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
			urls, err := plane.Mesh.URLs("web")
			if err != nil {
				t.Fatal(err)
			}
			tester := http.Header{"X-Canary": {"yes"}}
			beta := http.Header{"Cookie": {"session=1; beta=on-42; theme=dark"}}
			answers(t, urls[0], tester, "web:v1")

			e.SetImage("web", "web:v2")
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "2", Replicas: "1:4 2:1"}, fixture.Wait)
			answers(t, urls[0], tester, "web:v2")
			answers(t, urls[0], beta, "web:v2")
			answers(t, urls[0], http.Header{"X-Canary": {"no"}, "Cookie": {"beta=off"}}, "web:v1")
			answers(t, urls[0], nil, "web:v1")
			if got := mine(); got != before {
				t.Errorf("the user's rules changed:\n got %s\nwant %s", got, before)
			}
			// Nothing writes the route again while the canary waits.
			e.AssertQuiet(3*time.Second, router.GVK())

			e.Request("web", rampv1.AnnotationAbort)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "2", Replicas: "1:4 2:0"}, fixture.Wait)
			answers(t, urls[0], tester, "web:v1")
			obj := e.GetObject(router.GVK(), "web")
			if raw, _ := json.Marshal(obj.Object["spec"]); strings.Contains(string(raw), `"ramp-`) {
				t.Errorf("Ramp's routes left after the rollback: %s", raw)
			}
		})
	}
}

// userRouting makes the user's routing object richer than the fixture's:
// another rule (or route) beside the managed one, and a match and a filter
// (or a timeout) on the managed one. It returns a reading of what of it Ramp must leave
// alone, as text (everything but Ramp's own rules and the managed rule's
// backends), and that reading now.
func userRouting(t *testing.T, e *fixture.Env, router fixture.Router) (func() string, string) {
	t.Helper()
	var spec map[string]any
	switch router {
	case fixture.GatewayAPI:
		spec = map[string]any{
			"parentRefs": []any{map[string]any{"group": "", "kind": "Service", "name": "web", "port": int64(80)}},
			"rules": []any{
				map[string]any{"name": "main",
					"matches": []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}},
					"filters": []any{map[string]any{"type": "RequestHeaderModifier",
						"requestHeaderModifier": map[string]any{"add": []any{map[string]any{"name": "x-via", "value": "mesh"}}}}},
					"backendRefs": []any{map[string]any{"name": "web", "port": int64(80)}}},
				map[string]any{"name": "health", "matches": []any{map[string]any{"path": map[string]any{"type": "Exact", "value": "/healthz"}}},
					"backendRefs": []any{map[string]any{"name": "web-health", "port": int64(80)}}},
			},
		}
		u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
		u.SetGroupVersionKind(router.GVK())
		u.SetName("web")
		u.SetNamespace(e.NS)
		e.Create(u)
	case fixture.Istio:
		vs := e.GetObject(router.GVK(), "web")
		http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
		http = append([]any{map[string]any{"name": "health", "match": []any{map[string]any{"uri": map[string]any{"exact": "/healthz"}}},
			"route": []any{map[string]any{"destination": map[string]any{"host": "web", "subset": "stable"}}}}}, http...)
		_ = unstructured.SetNestedSlice(vs.Object, http, "spec", "http")
		_ = unstructured.SetNestedField(vs.Object, "5s", "spec", "http", "1", "timeout")
		if err := e.C.Update(context.Background(), vs); err != nil {
			t.Fatal(err)
		}
	}
	mine := func() string {
		obj := e.GetObject(router.GVK(), "web")
		list := "rules"
		if router == fixture.Istio {
			list = "http"
		}
		items, _, _ := unstructured.NestedSlice(obj.Object, "spec", list)
		var kept []any
		for _, it := range items {
			m := it.(map[string]any)
			if name, _ := m["name"].(string); strings.HasPrefix(name, "ramp-") {
				continue
			}
			switch m["name"] { // the managed rule's backends are Ramp's to write
			case "main":
				delete(m, "backendRefs")
			case "primary":
				delete(m, "route")
			}
			kept = append(kept, m)
		}
		raw, _ := json.Marshal(kept)
		return string(raw)
	}
	return mine, mine()
}

// answers waits until every request sent with header through the proxy at
// url is answered by version want (the mesh applies the routes it is
// given; a deadline, not a sleep).
func answers(t *testing.T, url string, header http.Header, want string) {
	t.Helper()
	clustertest.Eventually(t, fixture.Wait, fmt.Sprintf("requests with %v answered by %s", header, want), func(ctx context.Context) (bool, string) {
		var got []string
		for range 10 {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			for k, v := range header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false, err.Error()
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got = append(got, strings.TrimSpace(string(body)))
		}
		for _, v := range got {
			if v != want {
				return false, strings.Join(got, ", ")
			}
		}
		return true, ""
	})
}

// TestMirrorRoute: every request a client sends is answered by the stable
// version while a copy goes to the canary, whose answers nobody sees;
// the abort stops the copies.
func TestMirrorRoute(t *testing.T) {
	t.Parallel()
	for _, router := range []fixture.Router{fixture.GatewayAPI, fixture.Istio} {
		t.Run(string(router), func(t *testing.T) {
			t.Parallel()
			e, plane := meshed(t)
			ro := e.Rollout("web", "web:v1",
				rampv1.Step{SetMirrorRoute: &rampv1.MirrorRoute{Name: "shadow", Percent: ptr.To[int32](100)}}, fixture.Pause(0))
			ro.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
			e.Route(ro, router)
			e.Create(ro)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
			urls, err := plane.Mesh.URLs("web")
			if err != nil {
				t.Fatal(err)
			}
			e.SetImage("web", "web:v2")
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
			// Once the proxy mirrors, each request is answered by v1 and
			// copied to v2.
			clustertest.Eventually(t, fixture.Wait, "v2 getting copies", func(context.Context) (bool, string) {
				answers(t, urls[0], nil, "web:v1")
				return plane.Mesh.Mirrored()["web:v2"] > 0, fmt.Sprint(plane.Mesh.Mirrored())
			})
			before := plane.Mesh.Mirrored()["web:v2"]
			answers(t, urls[0], nil, "web:v1") // 10 requests
			clustertest.Eventually(t, fixture.Wait, "10 more copies", func(context.Context) (bool, string) {
				got := plane.Mesh.Mirrored()
				return got["web:v2"] >= before+10, fmt.Sprint(got)
			})
			if lost := plane.Mesh.Mirrored()[""]; lost > 0 {
				t.Errorf("%d copies reached no pod", lost)
			}
			e.AssertQuiet(3*time.Second, router.GVK())

			e.Request("web", rampv1.AnnotationAbort)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, fixture.Wait)
			obj := e.GetObject(router.GVK(), "web")
			if raw, _ := json.Marshal(obj.Object["spec"]); strings.Contains(string(raw), `"ramp-`) {
				t.Errorf("Ramp's mirror left after the rollback: %s", raw)
			}
			clustertest.Eventually(t, fixture.Wait, "no more copies", func(context.Context) (bool, string) {
				was := plane.Mesh.Mirrored()
				answers(t, urls[0], nil, "web:v1")
				now := plane.Mesh.Mirrored()
				return now["web:v2"] == was["web:v2"] && now[""] == was[""], fmt.Sprintf("%v then %v", was, now)
			})
		})
	}
}

// TestHeaderRouteUnderLag: testers' requests, 100 a second through three
// proxies that apply each change 1 to 1.5 s late, lose nothing while their
// route comes and goes (the route waits for every proxy to know the
// canary's pod; the rolled-back canary keeps it until every proxy dropped
// the route), and do lose some with Ramp's delays at 0: the control.
func TestHeaderRouteUnderLag(t *testing.T) {
	t.Parallel()
	lag := dataplane.Lag{Base: time.Second, Jitter: 500 * time.Millisecond}
	for _, delays := range []int32{3, 0} {
		t.Run(fmt.Sprintf("delays %ds", delays), func(t *testing.T) {
			t.Parallel()
			e, plane := meshed(t, dataplane.MeshOptions{Proxies: 3, RouteLag: lag, EndpointLag: lag})
			ro := e.Rollout("web", "web:v1", rampv1.Step{SetHeaderRoute: &rampv1.HeaderRoute{Name: "testers",
				Match: []rampv1.HeaderMatch{{Name: "X-Canary", Value: rampv1.StringMatch{Exact: ptr.To("yes")}}}}}, fixture.Pause(0))
			ro.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
			c := &ro.Spec.Strategy.Canary
			c.EndpointPropagationSeconds, c.AbortScaleDownDelaySeconds = ptr.To(delays), ptr.To(delays)
			e.Route(ro, fixture.GatewayAPI)
			e.Create(ro)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: "1:4"}, fixture.Wait)
			tally := dataplane.NewTally()
			loadCtx, stop := context.WithCancel(context.Background())
			done, err := plane.StartLoad(loadCtx, fixture.Wait, tally, "web", 100, http.Header{"X-Canary": {"yes"}})
			if err != nil {
				stop()
				t.Fatal(err)
			}
			defer func() { stop(); <-done }()

			e.SetImage("web", "web:v2")
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: "1:4 2:1"}, fixture.Wait)
			clustertest.Eventually(t, fixture.Wait, "every proxy sending testers to v2", func(context.Context) (bool, string) {
				since := tally.Elapsed() - 300*time.Millisecond
				seen := map[int]bool{}
				for _, r := range tally.Requests() {
					if r.At >= since && r.Version == "web:v2" {
						seen[r.Proxy] = true
					}
				}
				return len(seen) == 3, fmt.Sprintf("%d proxies", len(seen))
			})
			e.Request("web", rampv1.AnnotationAbort)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseDegraded, Step: "1", Replicas: "1:4 2:0"}, fixture.Wait)
			// The window in which a proxy may still act on the last change.
			time.Sleep(lag.Max() + time.Second)
			stop()
			<-done
			failed, _ := tally.Failures()
			t.Logf("delays %ds: %d tester requests, %d failed", delays, len(tally.Requests()), len(failed))
			switch {
			case delays > 0 && len(failed) > 0:
				t.Errorf("%d of %d tester requests failed; first: %s", len(failed), len(tally.Requests()), failed[0].Err)
			case delays == 0 && len(failed) == 0:
				t.Errorf("no tester request failed with the delays at 0: the test cannot see a loss")
			}
		})
	}
}
