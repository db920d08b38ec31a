package convert

const destinationRule = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec: {host: web.shop.svc.cluster.local, subsets: [{name: stable}, {name: canary}]}
`

const httpRoute = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: web, port: 80}]
  rules: [{backendRefs: [{name: web-stable, port: 80}, {name: web-canary, port: 80}]}]
`

var routingCases = []convertCase{
	rolloutCase("smi", `
spec:
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      abortScaleDownDelaySeconds: 10
      trafficRouting:
        smi: {rootService: web, trafficSplitName: web-split}
        maxTrafficWeight: 100
`, `
spec:
  service: web
  strategy:
    canary:
      abortScaleDownDelaySeconds: 10
      trafficRouting:
        smi: {trafficSplitName: web-split}
        canaryServiceName: web-canary
        stableServiceName: web-stable
`),
	refusedRollout("an abort that keeps the canary for ever", `
spec:
  strategy:
    canary:
      abortScaleDownDelaySeconds: 0
      trafficRouting: {smi: {rootService: web}}
`, map[string]string{"spec.strategy.canary.abortScaleDownDelaySeconds": "for ever"}),
	refusedRollout("smi without a root Service", `
spec:
  strategy:
    canary:
      trafficRouting: {smi: {}, maxTrafficWeight: 1000}
`, map[string]string{
		"spec.strategy.canary.trafficRouting.smi.rootService":  "root Service",
		"spec.strategy.canary.trafficRouting.maxTrafficWeight": "percentages",
	}),
	rolloutCase("the root Service from the annotation", `
metadata: {annotations: {ramp.dev/service: web-root}}
spec: {strategy: {canary: {trafficRouting: {smi: {}}}}}
`, `
metadata: {name: web}
spec: {service: web-root}
`),
	{name: "istio", base: baseRollout, with: destinationRule, in: `
spec:
  strategy:
    canary:
      trafficRouting:
        istio:
          virtualService: {name: web, routes: [primary]}
          destinationRule: {name: web, stableSubsetName: stable, canarySubsetName: canary}
`, want: `
spec:
  service: web
  strategy:
    canary:
      trafficRouting:
        istio:
          virtualService: {name: web, httpRouteName: primary}
          destinationRule: {name: web, stableSubsetName: stable, canarySubsetName: canary}
`},
	{name: "istio with one of virtualServices", base: baseRollout, with: destinationRule, in: `
spec:
  strategy:
    canary:
      trafficRouting:
        istio:
          virtualServices: [{name: web, routes: [primary]}]
          destinationRule: {name: web, stableSubsetName: stable, canarySubsetName: canary}
`, want: `
spec: {strategy: {canary: {trafficRouting: {istio: {virtualService: {name: web, httpRouteName: primary}}}}}}
`},
	refusedRollout("istio as Ramp cannot route", `
spec:
  strategy:
    canary:
      canaryService: web-canary
      trafficRouting:
        istio:
          virtualService: {name: web, routes: [a, b], tlsRoutes: [{port: 443}], tcpRoutes: [{port: 9000}]}
          virtualServices: [{name: web2, tlsRoutes: [{port: 443}], tcpRoutes: [{port: 1}]}]
          destinationRule: {name: web, stableSubsetName: stable, canarySubsetName: canary, additionalSubsetNames: [x]}
`, map[string]string{
		"spec.strategy.canary.canaryService":                                              "subsets",
		"spec.strategy.canary.trafficRouting.istio.virtualService.routes":                 "one HTTP route",
		"spec.strategy.canary.trafficRouting.istio.virtualService.tlsRoutes":              "HTTP routes only",
		"spec.strategy.canary.trafficRouting.istio.virtualService.tcpRoutes":              "HTTP routes only",
		"spec.strategy.canary.trafficRouting.istio.virtualServices":                       "one VirtualService",
		"spec.strategy.canary.trafficRouting.istio.virtualServices[0].tlsRoutes":          "HTTP routes only",
		"spec.strategy.canary.trafficRouting.istio.virtualServices[0].tcpRoutes":          "HTTP routes only",
		"spec.strategy.canary.trafficRouting.istio.destinationRule.additionalSubsetNames": "stable and canary subsets",
		"spec.strategy.canary.trafficRouting.istio.destinationRule.name":                  "DestinationRule web",
	}),
	refusedRollout("istio host-level splitting", `
spec:
  strategy:
    canary:
      trafficRouting:
        istio: {virtualService: {name: web}}
`, map[string]string{"spec.strategy.canary.trafficRouting.istio.destinationRule": "subsets"}),
	{name: "gatewayAPI plugin", base: baseRollout, with: httpRoute, in: `
spec:
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI: {httpRoute: web, namespace: shop, configMap: argo-gatewayapi-configmap}
`, want: `
spec:
  service: web
  strategy:
    canary:
      trafficRouting:
        gatewayAPI: {httpRoute: web, parent: {kind: Service}}
        canaryServiceName: web-canary
        stableServiceName: web-stable
`},
	rolloutCase("gatewayAPI plugin with httpRoutes", `
metadata: {annotations: {ramp.dev/service: web}}
spec:
  strategy:
    canary:
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI: {httpRoutes: [{name: web, useHeaderRoutes: true}]}
`, `
spec: {service: web, strategy: {canary: {trafficRouting: {gatewayAPI: {httpRoute: web}}}}}
`),
	refusedRollout("plugins Ramp has no counterpart for", `
spec:
  strategy:
    canary:
      trafficRouting:
        plugins:
          example/router: {}
          argoproj-labs/gatewayAPI: {httpRoute: web, namespace: infra, grpcRoute: g, header: x}
`, map[string]string{
		"spec.strategy.canary.trafficRouting.plugins.example/router":                     "no example/router router",
		"spec.strategy.canary.trafficRouting.plugins.argoproj-labs/gatewayAPI.namespace": "namespace",
		"spec.strategy.canary.trafficRouting.plugins.argoproj-labs/gatewayAPI.grpcRoute": "HTTPRoutes only",
		"spec.strategy.canary.trafficRouting.plugins.argoproj-labs/gatewayAPI.header":    "unknown setting",
		"spec.strategy.canary.trafficRouting.plugins.argoproj-labs/gatewayAPI.httpRoute": "spec.service",
	}),
	refusedRollout("routers Ramp has no counterpart for", `
spec:
  strategy:
    canary:
      trafficRouting:
        nginx: {stableIngress: web}
        alb: {ingress: web, servicePort: 80}
        ambassador: {mappings: [web]}
        apisix: {route: {name: web}}
        appMesh: {virtualService: {name: web}}
        traefik: {weightedTraefikServiceName: web}
        managedRoutes: [{name: testers}]
`, map[string]string{
		"spec.strategy.canary.trafficRouting.nginx":                 "gatewayAPI",
		"spec.strategy.canary.trafficRouting.alb":                   "gatewayAPI",
		"spec.strategy.canary.trafficRouting.ambassador":            "gatewayAPI",
		"spec.strategy.canary.trafficRouting.apisix":                "gatewayAPI",
		"spec.strategy.canary.trafficRouting.appMesh":               "gatewayAPI",
		"spec.strategy.canary.trafficRouting.traefik":               "gatewayAPI",
		"spec.strategy.canary.trafficRouting.managedRoutes[0].name": "no setHeaderRoute",
	}),
}
