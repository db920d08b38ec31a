package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/traffic"
	"github.com/rampcd/ramp/test/dataplane"
	"github.com/rampcd/ramp/test/fixture"
	"github.com/rampcd/ramp/test/localcluster"
	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestMoveFromArgoRollouts moves a serving application from Argo Rollouts
// to Ramp as docs/migrating.md says, with each router Argo and Ramp share,
// under 200 requests/s through three proxies that apply every change a
// second or more late. The test leaves the cluster as Argo Rollouts
// leaves it: an Argo Rollout (Argo's own CRD) whose ReplicaSet runs three
// pods, an older ReplicaSet at zero, and the routing Argo kept: stable and
// canary Services pinned to its pod-template hash and an HTTPRoute or a
// TrafficSplit between them, or a VirtualService between DestinationRule
// subsets pinned so. Then: `ramp convert --cluster`, the conversion applied
// (Ramp waits while Argo's Rollout is there), Argo's Rollout deleted
// keeping its pods, Ramp takes them over, and a first canary with Ramp
// runs to its promotion. Not one request may fail, the ready pods never
// drop below three, and the pods Argo started are those that serve once
// Ramp has taken over: none was restarted.
//
// The control moves an application the way that loses it (Argo's Rollout
// deleted with its pods): the same load and the same watch of ready pods
// must see that.
func TestMoveFromArgoRollouts(t *testing.T) {
	t.Parallel()
	m := &move{}
	m.cluster, m.c = fixture.OwnCluster(t, localcluster.Options{ArgoRollouts: true, PodCIDR: "127.13.0.0/16"})
	for _, router := range []fixture.Router{fixture.GatewayAPI, fixture.Istio, fixture.SMI} {
		t.Run(string(router), func(t *testing.T) {
			t.Parallel()
			e, plane := m.namespace(t, router)
			argoLeftBehind(t, e, "web", router)
			argoPods := podUIDs(t, e, "web")
			ready := watchReady(t, m.cluster.Config(), e.NS)
			stop := load(t, plane, "web")
			e.StartControllerProcess()

			// The conversion, applied while Argo's Rollout still holds the
			// pods: Ramp waits and says why.
			convert := exec.Command(fixture.RampBinary(t), "convert", "--cluster", "--kubeconfig", m.cluster.KubeconfigPath, "-n", e.NS)
			var stderr strings.Builder
			convert.Stderr = &stderr
			converted, err := convert.Output()
			if err != nil {
				t.Fatalf("ramp convert --cluster: %v\n%s", err, stderr.String())
			}
			m.kubectl(t, e, onlyRollout(t, string(converted), "web"), "apply", "--server-side", "-f", "-")
			clustertest.Eventually(t, fixture.Wait, "Ramp to wait for Argo's Rollout", func(ctx context.Context) (bool, string) {
				ro := &rampv1.Rollout{}
				if err := e.C.Get(ctx, client.ObjectKey{Namespace: e.NS, Name: "web"}, ro); err != nil {
					return false, err.Error()
				}
				cond := meta.FindStatusCondition(ro.Status.Conditions, rampv1.ConditionReady)
				return cond != nil && cond.Reason == "ArgoRolloutRunning", fmt.Sprintf("%+v", cond)
			})
			if rss := ownedReplicaSets(t, e, "web"); len(rss) != 0 {
				t.Fatalf("Ramp made or took ReplicaSets while Argo's Rollout held the pods: %v", rss)
			}

			// Argo's Rollout goes, its pods stay; Ramp takes them over.
			m.kubectl(t, e, "", "delete", "rollouts.argoproj.io", "web", "--cascade=orphan")
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: fixture.AnyReplicas}, fixture.Wait)
			if now := podUIDs(t, e, "web"); !sameSet(now, argoPods) {
				t.Errorf("the pods serving after the takeover are not Argo's: %v, were %v", now, argoPods)
			}
			if router != fixture.Istio {
				for _, name := range []string{"web-stable", "web-canary"} {
					svc := &corev1.Service{}
					e.Read(name, svc)
					if ref := metav1.GetControllerOf(svc); ref == nil || ref.Name != "web" || ref.Kind != "Rollout" || svc.Spec.Selector[traffic.ForeignRevisionLabels[0]] != "" {
						t.Errorf("Service %s not taken over: owner %v, selector %v", name, ref, svc.Spec.Selector)
					}
				}
			}

			// Ramp's first canary: its pods lack Argo's label, and get
			// traffic.
			e.Update("web", func(ro *rampv1.Rollout) {
				ro.Spec.Template.Spec.Containers[0].Image = "web:v2"
				ro.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: dataplane.EnvVersion, Value: "v2"}}
			})
			e.WaitFor("web", fixture.State{Phase: rampv1.PhasePaused, Step: "1", Replicas: fixture.AnyReplicas}, fixture.Wait)
			e.Request("web", rampv1.AnnotationPromote)
			e.WaitFor("web", fixture.State{Phase: rampv1.PhaseHealthy, Replicas: fixture.AnyReplicas}, fixture.Wait)
			tally := stop()
			total, codes, versions := tally.Snapshot()
			failed, _ := tally.Failures()
			t.Logf("%d requests, codes %v, versions %v; ready pods never below %d", total, codes, versions, ready.min("web"))
			if len(failed) > 0 {
				t.Errorf("%d of %d requests failed during the move; first: %+v", len(failed), total, failed[0])
			}
			if versions["v2"] == 0 {
				t.Errorf("no request reached Ramp's canary: the run proves little (versions %v)", versions)
			}
			if m := ready.min("web"); m < 3 {
				t.Errorf("ready pods fell to %d during the move, from 3", m)
			}
		})
	}
	// The control: Argo's Rollout deleted with its pods.
	t.Run("control", func(t *testing.T) {
		t.Parallel()
		e, plane := m.namespace(t, fixture.GatewayAPI)
		argoLeftBehind(t, e, "web", fixture.GatewayAPI)
		ready := watchReady(t, m.cluster.Config(), e.NS)
		stop := load(t, plane, "web")
		m.kubectl(t, e, "", "delete", "rollouts.argoproj.io", "web")
		clustertest.Eventually(t, fixture.Wait, "the pods to go", func(context.Context) (bool, string) {
			n := len(podUIDs(t, e, "web"))
			return n == 0, fmt.Sprint(n, " pods left")
		})
		tally := stop()
		failed, _ := tally.Failures()
		total, _, _ := tally.Snapshot()
		t.Logf("%d of %d requests failed; ready pods fell to %d", len(failed), total, ready.min("web"))
		if len(failed) == 0 || ready.min("web") != 0 {
			t.Errorf("deleting Argo's Rollout with its pods failed %d of %d requests, ready pods at least %d: the test cannot see an outage",
				len(failed), total, ready.min("web"))
		}
	})
}

// move is the cluster TestMoveFromArgoRollouts moves applications in.
type move struct {
	cluster *localcluster.Cluster
	c       client.Client
}

// namespace gives a subtest a namespace of its own, with the mesh
// stand-in serving it.
func (m *move) namespace(t *testing.T, router fixture.Router) (*fixture.Env, *dataplane.Plane) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "move-" + strings.ReplaceAll(strings.ToLower(t.Name()[strings.LastIndex(t.Name(), "/")+1:]), "_", "-")}}
	if err := m.c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	plane, err := dataplane.Start(context.Background(), m.cluster.Config(), ns.Name, dataplane.Options{
		Mesh: dataplane.MeshOptions{Proxies: 3, RouteLag: lagged, EndpointLag: lagged, Report: router == fixture.GatewayAPI},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plane.Close)
	return &fixture.Env{T: t, NS: ns.Name, C: m.c, Kubeconfig: m.cluster.KubeconfigPath}, plane
}

// kubectl runs kubectl in e's namespace, stdin given.
func (m *move) kubectl(t *testing.T, e *fixture.Env, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command(clustertest.Kubectl(t), append([]string{"--kubeconfig", m.cluster.KubeconfigPath, "-n", e.NS}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// argoLeftBehind creates app as Argo Rollouts leaves it, routed by
// router: its Rollout (in Argo's CRD, with no controller to act on it),
// the ReplicaSet of the current template with three pods, Argo's
// pod-template hash on them, an older one at zero, a root Service, and
// the routing at 100/0: stable and canary Services pinned to the hash and
// an HTTPRoute (a mesh route on the root Service) or a TrafficSplit (Argo
// makes it, and owns it) between them; for Istio a VirtualService between
// the subsets of a DestinationRule pinned to the hash.
func argoLeftBehind(t *testing.T, e *fixture.Env, app string, router fixture.Router) {
	t.Helper()
	ctx := context.Background()
	create := func(obj client.Object) {
		t.Helper()
		if err := e.C.Create(ctx, obj); err != nil {
			t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
	}
	labels := map[string]any{"app": app}
	canary := map[string]any{"steps": []any{map[string]any{"setWeight": int64(50)}, map[string]any{"pause": map[string]any{}}}}
	switch router {
	case fixture.GatewayAPI:
		canary["trafficRouting"] = map[string]any{"plugins": map[string]any{
			"argoproj-labs/gatewayAPI": map[string]any{"httpRoute": app, "namespace": e.NS}}}
	case fixture.SMI:
		canary["trafficRouting"] = map[string]any{"smi": map[string]any{"rootService": app, "trafficSplitName": app}}
	case fixture.Istio:
		canary["trafficRouting"] = map[string]any{"istio": map[string]any{
			"virtualService":  map[string]any{"name": app, "routes": []any{"primary"}},
			"destinationRule": map[string]any{"name": app, "stableSubsetName": "stable", "canarySubsetName": "canary"}}}
	}
	if router != fixture.Istio {
		canary["stableService"], canary["canaryService"] = app+"-stable", app+"-canary"
	}
	argo := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": app, "namespace": e.NS},
		"spec": map[string]any{
			"replicas": int64(3),
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": app + ":v1",
					"ports": []any{map[string]any{"containerPort": int64(8080)}},
					"env":   []any{map[string]any{"name": dataplane.EnvVersion, "value": "v1"}}}}}},
			"strategy": map[string]any{"canary": canary},
		},
	}}
	create(argo)
	owner := metav1.OwnerReference{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: app, UID: argo.GetUID(),
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
	hashLabel := traffic.ForeignRevisionLabels[0]
	var hash string
	for i, version := range []string{"v0", "v1"} {
		hash = fmt.Sprintf("%s%d7c9f", app, i) // Argo's hashes look alike
		podLabels := map[string]string{"app": app, hashLabel: hash}
		create(&appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: app + "-" + hash, Namespace: e.NS, Labels: podLabels,
				Annotations:     map[string]string{"rollout.argoproj.io/revision": fmt.Sprint(i + 1)},
				OwnerReferences: []metav1.OwnerReference{owner}},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(3 * i)), Selector: &metav1.LabelSelector{MatchLabels: podLabels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLabels}, Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: app + ":" + version,
						Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
						Env:   []corev1.EnvVar{{Name: dataplane.EnvVersion, Value: version}}}}}}},
		})
	}
	port := []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}
	create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: e.NS},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app}, Ports: port}})
	if router != fixture.Istio {
		for _, role := range []string{"stable", "canary"} {
			create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: app + "-" + role, Namespace: e.NS,
				Annotations: map[string]string{traffic.ArgoManagedByAnnotation: app}},
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app, hashLabel: hash}, Ports: port}})
		}
	}
	var routing []*unstructured.Unstructured
	object := func(apiVersion, kind string, spec map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind,
			"metadata": map[string]any{"name": app, "namespace": e.NS}, "spec": spec}}
	}
	switch router {
	case fixture.GatewayAPI:
		routing = append(routing, object("gateway.networking.k8s.io/v1", "HTTPRoute", map[string]any{
			"parentRefs": []any{map[string]any{"group": "", "kind": "Service", "name": app, "port": int64(80)}},
			"rules": []any{map[string]any{"backendRefs": []any{
				map[string]any{"name": app + "-stable", "port": int64(80), "weight": int64(100)},
				map[string]any{"name": app + "-canary", "port": int64(80), "weight": int64(0)},
			}}},
		}))
	case fixture.SMI:
		// Argo's default version, its weights quantities.
		split := object("split.smi-spec.io/v1alpha1", "TrafficSplit", map[string]any{"service": app, "backends": []any{
			map[string]any{"service": app + "-stable", "weight": "100"},
			map[string]any{"service": app + "-canary", "weight": "0"},
		}})
		split.SetOwnerReferences([]metav1.OwnerReference{owner})
		routing = append(routing, split)
	case fixture.Istio:
		subset := func(name string) map[string]any {
			return map[string]any{"name": name, "labels": map[string]any{"app": app, hashLabel: hash}}
		}
		routing = append(routing, object("networking.istio.io/v1", "VirtualService", map[string]any{
			"hosts": []any{app},
			"http": []any{map[string]any{"name": "primary", "route": []any{
				map[string]any{"destination": map[string]any{"host": app, "subset": "stable"}, "weight": int64(100)},
				map[string]any{"destination": map[string]any{"host": app, "subset": "canary"}, "weight": int64(0)},
			}}},
		}), object("networking.istio.io/v1", "DestinationRule", map[string]any{
			"host": app, "subsets": []any{subset("stable"), subset("canary")},
		}))
	}
	for _, u := range routing {
		create(u)
	}
	clustertest.Eventually(t, fixture.Wait, app+"'s three pods ready", func(context.Context) (bool, string) {
		n := len(podUIDs(t, e, app))
		return n == 3, fmt.Sprint(n, " ready")
	})
}

// onlyRollout picks the Rollout named name out of a conversion.
func onlyRollout(t *testing.T, converted, name string) string {
	t.Helper()
	for _, doc := range strings.Split(converted, "\n---\n") {
		if strings.Contains(doc, "kind: Rollout") && strings.Contains(doc, "\n  name: "+name+"\n") {
			return doc
		}
	}
	t.Fatalf("no Rollout %s in the conversion:\n%s", name, converted)
	return ""
}

// ownedReplicaSets lists the ReplicaSets Rollout name controls.
func ownedReplicaSets(t *testing.T, e *fixture.Env, name string) []string {
	t.Helper()
	var list appsv1.ReplicaSetList
	if err := e.C.List(context.Background(), &list, client.InNamespace(e.NS)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rs := range list.Items {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.Kind == "Rollout" && ref.APIVersion == rampv1.GroupVersion.String() && ref.Name == name {
			out = append(out, rs.Name)
		}
	}
	return out
}
