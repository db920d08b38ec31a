package convert

var blueGreenCases = []convertCase{
	rolloutCase("blue/green", `
spec:
  strategy:
    canary: null
    blueGreen:
      activeService: web
      previewService: web-preview
      previewReplicaCount: 1
      autoPromotionSeconds: 60
      scaleDownDelaySeconds: 30
      abortScaleDownDelaySeconds: 10
      prePromotionAnalysis:
        templates: [{templateName: smoke, clusterScope: false}]
        args: [{name: service, value: web-preview}, {name: rollout, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
      postPromotionAnalysis:
        templates: [{templateName: errors, clusterScope: true}]
        args: [{name: service, value: web}, {name: ns, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}]
`, `
spec:
  strategy:
    blueGreen:
      activeService: web
      previewService: web-preview
      previewReplicaCount: 1
      autoPromotionSeconds: 60
      scaleDownDelaySeconds: 30
      abortScaleDownDelaySeconds: 10
      prePromotion: [{analysis: {templates: [{templateName: smoke}], args: [{name: service, value: web-preview}, {name: rollout, value: web}]}}]
      postPromotion: [{analysis: {templates: [{templateName: errors, clusterScope: true}], args: [{name: service, value: web}, {name: ns, value: shop}]}}]
`),
	rolloutCase("blue/green promoted by hand", `
spec:
  strategy:
    canary: null
    blueGreen: {activeService: web, autoPromotionEnabled: false, autoPromotionSeconds: 30}
`, `
spec: {strategy: {blueGreen: {activeService: web}}}
`),
	rolloutCase("blue/green promoted at once, Argo's default", `
spec:
  strategy:
    canary: null
    blueGreen: {activeService: web, autoPromotionEnabled: true}
`, `
spec: {strategy: {blueGreen: {activeService: web, autoPromotionSeconds: 0}}}
`),
	refusedRollout("blue/green settings Ramp has no counterpart for", `
spec:
  strategy:
    canary: null
    blueGreen:
      activeService: web
      scaleDownDelayRevisionLimit: 2
      maxUnavailable: 1
      antiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {}}
      activeMetadata: {labels: {role: active}}
      previewMetadata: {labels: {role: preview}}
      prePromotionAnalysis:
        templates: [{templateName: smoke}]
        args: [{name: hash, valueFrom: {podTemplateHashValue: Latest}}]
        dryRun: [{metricName: x}]
        measurementRetention: [{metricName: x, limit: 1}]
        analysisRunMetadata: {labels: {a: b}}
      postPromotionAnalysis:
        templates: [{templateName: smoke}]
        args: [{name: hash, valueFrom: {podTemplateHashValue: Stable}}]
        dryRun: [{metricName: x}]
        measurementRetention: [{metricName: x, limit: 1}]
        analysisRunMetadata: {labels: {a: b}}
`, map[string]string{
		"spec.strategy.blueGreen.scaleDownDelayRevisionLimit":                                  "no limit",
		"spec.strategy.blueGreen.maxUnavailable":                                               "old pod",
		"spec.strategy.blueGreen.antiAffinity":                                                 "podAntiAffinity",
		"spec.strategy.blueGreen.activeMetadata":                                               "ramp.dev/revision",
		"spec.strategy.blueGreen.previewMetadata":                                              "ramp.dev/revision",
		"spec.strategy.blueGreen.prePromotionAnalysis.args[0].valueFrom.podTemplateHashValue":  "literal",
		"spec.strategy.blueGreen.prePromotionAnalysis.dryRun":                                  "dry-run",
		"spec.strategy.blueGreen.prePromotionAnalysis.measurementRetention":                    "measurement",
		"spec.strategy.blueGreen.prePromotionAnalysis.analysisRunMetadata":                     "labels",
		"spec.strategy.blueGreen.postPromotionAnalysis.args[0].valueFrom.podTemplateHashValue": "literal",
		"spec.strategy.blueGreen.postPromotionAnalysis.dryRun":                                 "dry-run",
		"spec.strategy.blueGreen.postPromotionAnalysis.measurementRetention":                   "measurement",
		"spec.strategy.blueGreen.postPromotionAnalysis.analysisRunMetadata":                    "labels",
	}),
}
