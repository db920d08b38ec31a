package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// The command lines of the components. Everything listens on 127.0.0.1
// only, on the ports chosen at start.

func (s *starter) etcdArgs() []string {
	client, peer := url(s.c.Ports.EtcdClient), url(s.c.Ports.EtcdPeer)
	return []string{
		"--name=localcluster",
		"--data-dir=" + filepath.Join(s.c.Dir, "etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=localcluster=" + peer,
		// A test cluster's data is thrown away: durability buys nothing.
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	}
}

func (s *starter) apiserverArgs() []string {
	p := s.pki
	return []string{
		"--etcd-servers=" + url(s.c.Ports.EtcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// Endpoints reject loopback addresses; nothing here needs the
		// kubernetes Service's endpoints.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(s.c.Ports.APIServer),
		"--tls-cert-file=" + p.ServingCert,
		"--tls-private-key-file=" + p.ServingKey,
		"--client-ca-file=" + p.CACert,
		"--service-account-key-file=" + p.SAPub,
		"--service-account-signing-key-file=" + p.SAKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		// Benchmarks run a thousand rollouts against this server.
		"--max-requests-inflight=1000",
		"--max-mutating-requests-inflight=500",
		"--v=1",
	}
}

// auditPolicy records each write at Metadata level (no bodies), once its
// answer is known; reads and watches are left out. Lease writes keep the
// Lease as written, so that who held one when can be read back.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted, Panic]
rules:
- level: RequestResponse
  resources: [{group: coordination.k8s.io, resources: [leases]}]
  verbs: [create, update]
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`

// auditArgs turn on the audit log when asked for, writing its policy.
func (s *starter) auditArgs() ([]string, error) {
	if !s.opts.AuditWrites {
		return nil, nil
	}
	policy := filepath.Join(s.c.Dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
		return nil, err
	}
	return []string{
		"--audit-policy-file=" + policy,
		"--audit-log-path=" + s.c.AuditLog(),
		"--audit-log-format=json",
		// Written as requests finish, not batched: a test reads it at once.
		"--audit-log-mode=blocking",
	}, nil
}

// componentArgs are the flags kube-controller-manager and kube-scheduler
// share: the admin kubeconfig for everything, their own port, no leader
// election (there is one of each).
func (s *starter) componentArgs(port int) []string {
	kc := s.c.KubeconfigPath
	return []string{
		"--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--leader-elect=false",
		"--v=1",
	}
}

func (s *starter) controllerManagerArgs() []string {
	return append(s.componentArgs(s.c.Ports.ControllerManager),
		// nodelifecycle must run, or the not-ready taint set on new nodes
		// is never lifted. Left out: what needs a cloud, volumes, or
		// writes endpoints that reject loopback pod IPs.
		"--controllers="+strings.Join([]string{"*", "-node-ipam-controller",
			"-persistentvolume-binder-controller", "-persistentvolume-attach-detach-controller",
			"-endpoints-controller", "-endpointslice-controller",
			"-endpointslice-mirroring-controller"}, ","),
		"--service-account-private-key-file="+s.pki.SAKey,
		"--root-ca-file="+s.pki.CACert,
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		// The HPA controller looks every second, not every 15: a test
		// waits for its decisions.
		"--horizontal-pod-autoscaler-sync-period=1s",
	)
}

func (s *starter) schedulerArgs() []string {
	return s.componentArgs(s.c.Ports.Scheduler)
}

// kwokArgs writes kwok's Stage configs into one file and returns its command
// line: manage the nodes we annotate, give pods IPs from the loopback pod
// CIDR.
func (s *starter) kwokArgs() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(s.bins.KwokStages, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var docs []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		switch filepath.Base(f) {
		case "pod-ready.yaml":
			data, err = withSelector(data, `.metadata.labels["`+HoldNotReadyLabel+`"]`)
		case "pod-complete.yaml":
			data, err = withSelector(data, `.metadata.annotations["`+ExitCodeAnnotation+`"]`)
			docs = append(docs, podFailStage)
		}
		if err != nil {
			return nil, fmt.Errorf("localcluster: %s: %w", f, err)
		}
		docs = append(docs, string(data))
	}
	config := filepath.Join(s.c.Dir, "kwok.yaml")
	if err := os.WriteFile(config, []byte(strings.Join(docs, "\n---\n")), 0o644); err != nil {
		return nil, err
	}
	return []string{
		"--kubeconfig=" + s.c.KubeconfigPath,
		"--config=" + config,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
		"--cidr=" + s.c.PodCIDR,
		"--node-ip=127.0.0.1",
	}, nil
}

// HoldNotReadyLabel on a pod keeps it Pending: kwok's pod-ready stage skips
// it. Tests use it for versions whose pods never become ready.
const HoldNotReadyLabel = "localcluster.ramp.dev/hold-not-ready"

// ExitCodeAnnotation on a Job's pod makes it fail with that exit code
// instead of succeeding (kwok's pod-complete stage skips it; podFailStage
// takes it). Tests use it for failing test Jobs.
const ExitCodeAnnotation = "localcluster.ramp.dev/exit-code"

// podFailStage ends a running Job pod annotated ExitCodeAnnotation as
// Failed, its containers terminated with the annotation's exit code.
var podFailStage = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-fail
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.ownerReferences.[].kind'
      operator: 'In'
      values: ['Job']
    - key: '.metadata.annotations["` + ExitCodeAnnotation + `"]'
      operator: 'Exists'
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $code := index .metadata.annotations "` + ExitCodeAnnotation + `" }}
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: {{ $code }}
            finishedAt: {{ $now | Quote }}
            reason: Error
            message: {{ printf "exited with code %s" $code | Quote }}
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed
`

// withSelector adds to a Stage's selector a requirement that key does not
// exist, so that the Stage skips the objects that have it.
func withSelector(stage []byte, key string) ([]byte, error) {
	var obj map[string]any
	if err := yaml.Unmarshal(stage, &obj); err != nil {
		return nil, err
	}
	selector, ok := nested(obj, "spec", "selector").(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no spec.selector")
	}
	exprs, _ := selector["matchExpressions"].([]any)
	selector["matchExpressions"] = append(exprs, map[string]any{"key": key, "operator": "DoesNotExist"})
	return yaml.Marshal(obj)
}

func nested(obj map[string]any, path ...string) any {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}
