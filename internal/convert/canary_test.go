package convert

var canaryCases = []convertCase{
	rolloutCase("steps", `
spec:
  strategy:
    canary:
      steps:
      - setWeight: 10
      - pause: {duration: 30}
      - pause: {duration: 1h}
      - pause: {duration: "90"}
      - pause: {}
      - analysis:
          templates: [{templateName: errors}, {templateName: latency, clusterScope: true}]
          args:
          - {name: service, value: web}
          - {name: rollout, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
          - {name: ns, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
`, `
spec:
  strategy:
    canary:
      maxUnavailable: 25%
      steps:
      - setWeight: 10
      - pause: {duration: 30s}
      - pause: {duration: 1h0m0s}
      - pause: {duration: 1m30s}
      - pause: {}
      - analysis:
          templates: [{templateName: errors}, {templateName: latency, clusterScope: true}]
          args:
          - {name: service, value: web}
          - {name: rollout, value: web}
          - {name: ns, value: shop}
`),
	refusedRollout("steps Ramp has no counterpart for", `
spec:
  strategy:
    canary:
      steps:
      - setCanaryScale: {replicas: 2}
      - setCanaryScale: {weight: 20, matchTrafficWeight: true}
      - experiment: {templates: [{name: x, specRef: canary}]}
      - plugin: {name: example/step}
`, map[string]string{
		"spec.strategy.canary.steps[0].setCanaryScale": "canaryScale",
		"spec.strategy.canary.steps[1].setCanaryScale": "canaryScale",
		"spec.strategy.canary.steps[2].experiment":     "experiments",
		"spec.strategy.canary.steps[3].plugin":         "plugins",
	}),
	refusedRollout("analysis settings Ramp has no counterpart for", `
spec:
  strategy:
    canary:
      steps:
      - analysis:
          templates: [{templateName: errors}]
          args:
          - {name: hash, valueFrom: {podTemplateHashValue: Latest}}
          - {name: team, valueFrom: {fieldRef: {fieldPath: "metadata.labels['team']"}}}
          - {name: service.name, value: web}
          dryRun: [{metricName: errors}]
          measurementRetention: [{metricName: errors, limit: 5}]
          analysisRunMetadata: {labels: {a: b}}
`, map[string]string{
		"spec.strategy.canary.steps[0].analysis.args[0].valueFrom.podTemplateHashValue": "CanaryRevision",
		"spec.strategy.canary.steps[0].analysis.args[1].valueFrom.fieldRef.fieldPath":   "literal",
		"spec.strategy.canary.steps[0].analysis.args[2].name":                           "rename",
		"spec.strategy.canary.steps[0].analysis.dryRun":                                 "dry-run",
		"spec.strategy.canary.steps[0].analysis.measurementRetention":                   "measurement",
		"spec.strategy.canary.steps[0].analysis.analysisRunMetadata":                    "labels",
	}),
	rolloutCase("canary settings", `
spec:
  strategy:
    canary:
      maxSurge: 1
      maxUnavailable: 10%
      scaleDownDelaySeconds: 60
      dynamicStableScale: false
      minPodsPerReplicaSet: 1
      analysis:
        templates: [{templateName: errors, clusterScope: true}]
        args: [{name: service, value: web}, {name: rollout, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
`, `
spec:
  strategy:
    canary:
      maxSurge: 1
      maxUnavailable: 10%
      scaleDownDelaySeconds: 60
      analysis:
        templates: [{templateName: errors, clusterScope: true}]
        args: [{name: service, value: web}, {name: rollout, value: web}]
        startingStep: 0
`),
	rolloutCase("background analysis from a later step", `
spec:
  strategy:
    canary:
      steps: [{setWeight: 20}, {pause: {}}]
      analysis: {templates: [{templateName: errors}], startingStep: 1}
`, `
spec: {strategy: {canary: {analysis: {templates: [{templateName: errors}], startingStep: 1}}}}
`),
	refusedRollout("background analysis settings Ramp has no counterpart for", `
spec:
  strategy:
    canary:
      analysis:
        templates: [{templateName: errors}]
        args: [{name: hash, valueFrom: {podTemplateHashValue: Stable}}]
        dryRun: [{metricName: "*"}]
        measurementRetention: [{metricName: "*", limit: 1}]
        analysisRunMetadata: {annotations: {a: b}}
`, map[string]string{
		"spec.strategy.canary.analysis.args[0].valueFrom.podTemplateHashValue": "StableRevision",
		"spec.strategy.canary.analysis.dryRun":                                 "dry-run",
		"spec.strategy.canary.analysis.measurementRetention":                   "measurement",
		"spec.strategy.canary.analysis.analysisRunMetadata":                    "labels",
	}),
	refusedRollout("canary settings Ramp cannot honour", `
spec:
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      dynamicStableScale: true
      minPodsPerReplicaSet: 2
      scaleDownDelayRevisionLimit: 1
      replicaProgressThreshold: {type: Percent, value: 90}
      antiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: {weight: 1}}
      canaryMetadata: {labels: {role: canary}}
      stableMetadata: {labels: {role: stable}}
      pingPong: {pingService: ping, pongService: pong}
`, map[string]string{
		"spec.strategy.canary.canaryService":               "pod counts",
		"spec.strategy.canary.dynamicStableScale":          "keeps all its pods",
		"spec.strategy.canary.minPodsPerReplicaSet":        "at least one pod",
		"spec.strategy.canary.scaleDownDelayRevisionLimit": "no limit",
		"spec.strategy.canary.replicaProgressThreshold":    "all the pods",
		"spec.strategy.canary.antiAffinity":                "podAntiAffinity",
		"spec.strategy.canary.canaryMetadata":              "ramp.dev/revision",
		"spec.strategy.canary.stableMetadata":              "ramp.dev/revision",
		"spec.strategy.canary.pingPong":                    "swaps nothing",
	}),
	{name: "header and mirror routes", base: baseRollout, with: destinationRule, in: `
spec:
  strategy:
    canary:
      trafficRouting:
        istio:
          virtualService: {name: web}
          destinationRule: {name: web, stableSubsetName: stable, canarySubsetName: canary}
        managedRoutes: [{name: testers}, {name: shadow}]
      steps:
      - setHeaderRoute:
          name: testers
          match:
          - {headerName: x-canary, headerValue: {exact: "yes"}}
          - {headerName: x-region, headerValue: {prefix: eu-}}
          - {headerName: x-user, headerValue: {regex: "ada|bob"}}
      - setMirrorRoute:
          name: shadow
          percentage: 20
          match: [{headers: {x-region: {exact: eu-west}}}]
      - setMirrorRoute: {name: shadow}
      - setHeaderRoute: {name: testers}
`, want: `
spec:
  service: web
  strategy:
    canary:
      steps:
      - setHeaderRoute:
          name: testers
          match:
          - {name: x-canary, value: {exact: "yes"}}
          - {name: x-region, value: {prefix: eu-}}
          - {name: x-user, value: {regex: "ada|bob"}}
      - setMirrorRoute: {name: shadow, percent: 20, match: [{name: x-region, value: {exact: eu-west}}]}
      - setMirrorRoute: {name: shadow}
      - setHeaderRoute: {name: testers}
`},
	refusedRollout("routes Ramp cannot write", `
spec:
  strategy:
    canary:
      steps:
      - setHeaderRoute: {name: Testers}
      - setMirrorRoute:
          name: shadow
          match:
          - {method: {exact: GET}, path: {prefix: /api}}
          - {headers: {x-a: {exact: "1"}}}
`, map[string]string{
		"spec.strategy.canary.steps[0].setHeaderRoute.name":            "DNS label",
		"spec.strategy.canary.steps[1].setMirrorRoute.match":           "one set of headers",
		"spec.strategy.canary.steps[1].setMirrorRoute.match[0].method": "not the method",
		"spec.strategy.canary.steps[1].setMirrorRoute.match[0].path":   "not the path",
	}),
}
