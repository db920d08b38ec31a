package convert

var rolloutCases = []convertCase{
	rolloutCase("type and metadata", `
metadata:
  labels: {team: shop}
  annotations: {owner: ada, rollout.argoproj.io/revision: "3", argo-rollouts.argoproj.io/managed: "x", kubectl.kubernetes.io/last-applied-configuration: "{}"}
  uid: 0e7c
  resourceVersion: "42"
  generation: 3
  creationTimestamp: "2024-01-01T00:00:00Z"
  deletionTimestamp: "2024-01-02T00:00:00Z"
  deletionGracePeriodSeconds: 30
  managedFields: [{manager: kubectl}]
  selfLink: /apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web
  finalizers: []
status: {phase: Healthy}
`, `
metadata: {name: web, namespace: shop, labels: {team: shop}, annotations: {owner: ada}}
`),
	rolloutCase("generateName", `
metadata: {name: null, generateName: web-}
`, `
metadata: {generateName: web-}
`),
	refusedRollout("finalizers and owners", `
metadata:
  finalizers: [example.com/keep]
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: x, uid: "1"}]
`, map[string]string{"metadata.finalizers": "controllers", "metadata.ownerReferences": "owner"}),
	refusedRollout("unknown fields", `
spec: {replica: 3, strategy: {canary: {stepz: []}}}
`, map[string]string{"spec.replica": "unknown", "spec.strategy.canary.stepz": "unknown"}),
	rolloutCase("spec", `
spec:
  replicas: 4
  minReadySeconds: 10
  revisionHistoryLimit: 3
  paused: true
  progressDeadlineSeconds: 300
  progressDeadlineAbort: true
  analysis: {successfulRunHistoryLimit: 2, unsuccessfulRunHistoryLimit: 3}
`, `
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "web:v1"}]}}
  minReadySeconds: 10
  revisionHistoryLimit: 3
  paused: true
  progressDeadlineSeconds: 300
  analysisRunHistoryLimit: 5
`),
	rolloutCase("progressDeadlineAbort false, Argo's default", `
spec: {progressDeadlineAbort: false, analysis: {successfulRunHistoryLimit: 1}}
`, `
spec: {analysisRunHistoryLimit: 6}
`),
	refusedRollout("restartAt and rollbackWindow", `
spec: {restartAt: "2024-01-01T00:00:00Z", rollbackWindow: {revisions: 2}}
`, map[string]string{"spec.restartAt": "restart", "spec.rollbackWindow": "rollback window"}),
	rolloutCase("workloadRef", `
spec:
  template: null
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web, scaleDown: onsuccess}
`, `
spec:
  workloadRef: {name: web}
  selector: {matchLabels: {app: web}}
`),
	{name: "workloadRef without selector takes the Deployment's", base: baseRollout, in: `
spec:
  template: null
  selector: null
  workloadRef: {name: web}
`, with: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {selector: {matchLabels: {app: shop-web}}, template: {}}
`, want: `
spec: {workloadRef: {name: web}, selector: {matchLabels: {app: shop-web}}}
`},
	refusedRollout("workloadRef Ramp cannot adopt", `
spec:
  template: null
  selector: null
  workloadRef: {apiVersion: argoproj.io/v1alpha1, kind: ReplicaSet, name: web, scaleDown: never}
`, map[string]string{
		"spec.workloadRef.apiVersion": "apps/v1",
		"spec.workloadRef.kind":       "Deployments only",
		"spec.workloadRef.scaleDown":  "onsuccess",
		"spec.selector":               "Deployment web",
	}),
}
