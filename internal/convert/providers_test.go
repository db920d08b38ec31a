package convert

var providerCases = []convertCase{
	templateCase("prometheus", `
spec:
  metrics:
  - name: errors
    successCondition: result[0] < 0.01
    provider:
      prometheus:
        address: "http://prometheus:9090"
        query: up
        timeout: 30
        insecure: true
        headers: [{key: X-Scope-OrgID, value: team-a}]
`, `
spec:
  metrics:
  - provider:
      prometheus:
        address: "http://prometheus:9090"
        query: up
        timeout: 30s
        tls: {insecureSkipVerify: true}
        headers: [{name: X-Scope-OrgID, value: team-a}]
`),
	refusedTemplate("prometheus settings Ramp has no counterpart for", `
spec:
  metrics:
  - name: errors
    successCondition: result[0] < 0.01
    provider:
      prometheus:
        address: "http://prometheus:9090"
        query: up
        headers: [{key: X-Org, value: "{{args.org}}"}]
        authentication: {sigv4: {region: eu-west-1}, oauth2: {tokenUrl: "https://t"}}
        rangeQuery: {start: "now() - duration(\"5m\")", end: "now()", step: 1m}
`, map[string]string{
		"spec.metrics[0].provider.prometheus.headers[0].value": "literal",
		"spec.metrics[0].provider.prometheus.authentication":   "bearerTokenSecret",
		"spec.metrics[0].provider.prometheus.rangeQuery":       "instant",
	}),
	templateCase("web", `
spec:
  metrics:
  - name: status
    successCondition: result.ok == true
    provider:
      web:
        url: "https://status.example/canary?svc={{ args.service }}"
        jsonPath: "{.data}"
        method: GET
        timeoutSeconds: 20
        insecure: true
        headers: [{key: Accept, value: application/json}]
`, `
spec:
  metrics:
  - successCondition: result.ok == true
    provider:
      web:
        url: "https://status.example/canary?svc={{.Args.service}}"
        jsonPath: "{.data}"
        timeout: 20s
        tls: {insecureSkipVerify: true}
        headers: [{name: Accept, value: application/json}]
`),
	refusedTemplate("web settings Ramp has no counterpart for", `
spec:
  metrics:
  - name: status
    successCondition: result == 1
    provider:
      web:
        url: "https://status.example"
        method: POST
        body: "{}"
        jsonBody: {a: 1}
        authentication: {oauth2: {clientId: x}}
`, map[string]string{
		"spec.metrics[0].provider.web.method":         "GET",
		"spec.metrics[0].provider.web.body":           "without a body",
		"spec.metrics[0].provider.web.jsonBody":       "without a body",
		"spec.metrics[0].provider.web.authentication": "bearerTokenSecret",
	}),
	templateCase("datadog", `
spec:
  metrics:
  - name: errors
    interval: 5m
    successCondition: result < 0.01
    provider:
      datadog:
        queries: {errors: "sum:errors{service:{{args.service}}}", hits: "sum:hits{*}"}
        formula: errors / hits
        aggregator: sum
        apiVersion: v2
        interval: 5m
        requestTimeout: 20s
        secretRef: {name: datadog, namespaced: true}
`, `
spec:
  metrics:
  - interval: 5m0s
    provider:
      datadog:
        queries: [{name: errors, query: "sum:errors{service:{{.Args.service}}}"}, {name: hits, query: "sum:hits{*}"}]
        formula: errors / hits
        aggregator: sum
        apiVersion: v2
        timeout: 20s
        apiKey: {name: datadog, key: api-key}
        applicationKey: {name: datadog, key: app-key}
`),
	templateCase("datadog with one query, Argo's defaults", `
spec:
  metrics:
  - name: errors
    successCondition: result < 0.01
    provider:
      datadog: {query: "sum:errors{*}", secretRef: {name: datadog, namespaced: true}}
`, `
spec:
  metrics:
  - {interval: 5m0s, count: 1, provider: {datadog: {query: "sum:errors{*}", apiVersion: v1}}}
`),
	refusedTemplate("datadog as Ramp cannot query", `
spec:
  metrics:
  - name: errors
    interval: 1m
    successCondition: result < 0.01
    provider:
      datadog: {query: "sum:errors{*}", interval: 5m, secretRef: {name: datadog}}
`, map[string]string{
		"spec.metrics[0].provider.datadog.interval":             "interval",
		"spec.metrics[0].provider.datadog.secretRef.namespaced": "namespaced: true",
	}),
	templateCase("graphite", `
spec:
  metrics:
  - name: errors
    successCondition: result < 0.01
    provider: {graphite: {address: "http://graphite:8080", query: "web.{{args.rev}}.errors"}}
`, `
spec:
  metrics:
  - provider: {graphite: {address: "http://graphite:8080", target: "web.{{.Args.rev}}.errors"}}
`),
	templateCase("cloudWatch", `
spec:
  metrics:
  - name: errors
    interval: 1m
    successCondition: result < 0.01
    provider:
      cloudWatch:
        interval: 1m
        metricDataQueries:
        - id: errors
          returnData: false
          metricStat:
            metric:
              namespace: AWS/ApplicationELB
              metricName: HTTPCode_Target_5XX_Count
              dimensions: [{name: TargetGroup, value: "{{args.tg}}"}]
            period: 60
            stat: Sum
            unit: Count
        - {id: rate, expression: "errors / 1", label: rate}
`, `
spec:
  metrics:
  - provider:
      cloudWatch:
        queries:
        - id: errors
          returnData: false
          metricStat: {namespace: AWS/ApplicationELB, metricName: HTTPCode_Target_5XX_Count, dimensions: [{name: TargetGroup, value: "{{.Args.tg}}"}], period: 60, stat: Sum, unit: Count}
        - {id: rate, expression: "errors / 1", label: rate}
`),
	refusedTemplate("cloudWatch as Ramp cannot query", `
spec:
  metrics:
  - name: errors
    successCondition: result < 0.01
    provider:
      cloudWatch:
        metricDataQueries: [{id: rate, expression: "1", period: 60}]
`, map[string]string{"spec.metrics[0].provider.cloudWatch.metricDataQueries[0].period": "metricStat"}),
	templateCase("job", `
spec:
  metrics:
  - name: smoke
    successCondition: null
    provider:
      job:
        spec:
          backoffLimit: 1
          activeDeadlineSeconds: 300
          template:
            metadata: {labels: {app: smoke}}
            spec:
              serviceAccountName: tests
              restartPolicy: Never
              containers: [{name: smoke, image: "smoke:1", args: [run]}]
`, `
spec:
  metrics:
  - name: smoke
    provider:
      job:
        container: {name: smoke, image: "smoke:1", args: [run]}
        serviceAccountName: tests
        labels: {app: smoke}
        backoffLimit: 1
        timeout: 5m0s
`),
	refusedTemplate("job settings Ramp has no counterpart for", `
spec:
  metrics:
  - name: smoke
    successCondition: null
    provider:
      job:
        metadata: {labels: {a: b}}
        spec:
          parallelism: 2
          template:
            spec:
              restartPolicy: Always
              nodeSelector: {a: b}
              containers: [{name: a, image: a}, {name: b, image: "{{args.image}}"}]
`, map[string]string{
		"spec.metrics[0].provider.job.metadata":                         "names and labels",
		"spec.metrics[0].provider.job.spec":                             "template a Job",
		"spec.metrics[0].provider.job.spec.parallelism":                 "container",
		"spec.metrics[0].provider.job.spec.template.spec.restartPolicy": "Never or OnFailure",
		"spec.metrics[0].provider.job.spec.template.spec.nodeSelector":  "container",
		"spec.metrics[0].provider.job.spec.template.spec.containers":    "2 containers",
	}),
	refusedTemplate("providers Ramp has no counterpart for", `
spec:
  metrics:
  - {name: a, successCondition: result > 1, provider: {newRelic: {profile: nr, query: "SELECT 1"}}}
  - {name: b, successCondition: result > 1, provider: {influxdb: {profile: db, query: "from()"}}}
  - {name: c, successCondition: result > 1, provider: {kayenta: {address: x}}}
  - {name: d, successCondition: result > 1, provider: {wavefront: {address: x}}}
  - {name: e, successCondition: result > 1, provider: {skywalking: {address: x}}}
  - {name: f, successCondition: result > 1, provider: {plugin: {example/metric: {}}}}
`, map[string]string{
		"spec.metrics[0].provider.newRelic":   "profile",
		"spec.metrics[1].provider.influxdb":   "profile",
		"spec.metrics[2].provider.kayenta":    "Kayenta",
		"spec.metrics[3].provider.wavefront":  "Wavefront",
		"spec.metrics[4].provider.skywalking": "SkyWalking",
		"spec.metrics[5].provider.plugin":     "plugins",
	}),
}
