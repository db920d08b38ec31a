package v1alpha1_test

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/test/localcluster/clustertest"
)

// TestRouteAdmission: header and cookie routes are refused where they
// cannot work, and their mistakes name the field.
func TestRouteAdmission(t *testing.T) {
	ns := clustertest.Namespace(t)
	c, err := client.New(clustertest.Config(t), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	header := map[string]any{"setHeaderRoute": map[string]any{"name": "testers",
		"match": []any{map[string]any{"name": "x-canary", "value": map[string]any{"exact": "yes"}}}}}
	routed := func(router string) func(map[string]any) {
		return func(s map[string]any) {
			s["service"] = "web"
			canary(s)["trafficRouting"] = map[string]any{router: map[string]any{}}
			steps(s)[1] = header
		}
	}
	tests := []struct {
		name    string
		edit    func(spec map[string]any)
		wantErr []string
	}{
		{name: "a header route through Gateway API", edit: routed("gatewayAPI")},
		{name: "a cookie route through Gateway API", edit: func(s map[string]any) {
			routed("gatewayAPI")(s)
			steps(s)[1] = map[string]any{"setCookieRoute": map[string]any{"name": "beta", "cookie": "beta", "value": map[string]any{"prefix": "on"}}}
		}},
		{name: "a header route through SMI", edit: routed("smi"),
			wantErr: []string{"spec.strategy.canary", "setHeaderRoute, setCookieRoute and setMirrorRoute need trafficRouting.gatewayAPI or trafficRouting.istio"}},
		{name: "a header route with pod ratio", edit: func(s map[string]any) { steps(s)[1] = header },
			wantErr: []string{"setHeaderRoute, setCookieRoute and setMirrorRoute need trafficRouting.gatewayAPI or trafficRouting.istio"}},
		{name: "a value with two kinds", edit: func(s map[string]any) {
			routed("gatewayAPI")(s)
			steps(s)[1] = map[string]any{"setHeaderRoute": map[string]any{"name": "testers",
				"match": []any{map[string]any{"name": "x-canary", "value": map[string]any{"exact": "yes", "regex": "y.*"}}}}}
		}, wantErr: []string{"spec.strategy.canary.steps[1].setHeaderRoute.match[0].value", "exactly one of exact, prefix and regex"}},
		{name: "a regex that does not compile", edit: func(s map[string]any) {
			routed("gatewayAPI")(s)
			steps(s)[1] = map[string]any{"setHeaderRoute": map[string]any{"name": "testers",
				"match": []any{map[string]any{"name": "x-canary", "value": map[string]any{"regex": "(yes"}}}}}
		}, wantErr: []string{"spec.strategy.canary.steps[1].setHeaderRoute.match[0].value", "regex is not a valid RE2 regular expression"}},
		{name: "a regex that compiles", edit: func(s map[string]any) {
			routed("gatewayAPI")(s)
			steps(s)[1] = map[string]any{"setHeaderRoute": map[string]any{"name": "testers",
				"match": []any{map[string]any{"name": "x-canary", "value": map[string]any{"regex": "y(es)?"}}}}}
		}},
		{name: "a route name that is not a DNS label", edit: func(s map[string]any) {
			routed("gatewayAPI")(s)
			steps(s)[1] = map[string]any{"setHeaderRoute": map[string]any{"name": "Testers!"}}
		}, wantErr: []string{"spec.strategy.canary.steps[1].setHeaderRoute.name", "should match"}},
		{name: "a mirror through Istio", edit: func(s map[string]any) {
			routed("istio")(s)
			istio := canary(s)["trafficRouting"].(map[string]any)["istio"].(map[string]any)
			istio["virtualService"] = map[string]any{"name": "web"}
			istio["destinationRule"] = map[string]any{"name": "web", "stableSubsetName": "stable", "canarySubsetName": "canary"}
			steps(s)[1] = map[string]any{"setMirrorRoute": map[string]any{"name": "shadow", "percent": 20}}
		}},
		{name: "a mirror of 0%", edit: func(s map[string]any) {
			routed("gatewayAPI")(s)
			steps(s)[1] = map[string]any{"setMirrorRoute": map[string]any{"name": "shadow", "percent": 0}}
		}, wantErr: []string{"spec.strategy.canary.steps[1].setMirrorRoute.percent", "greater than or equal to 1"}},
		{name: "a mirror through SMI", edit: func(s map[string]any) {
			routed("smi")(s)
			steps(s)[1] = map[string]any{"setMirrorRoute": map[string]any{"name": "shadow", "percent": 20}}
		}, wantErr: []string{"setHeaderRoute, setCookieRoute and setMirrorRoute need trafficRouting.gatewayAPI or trafficRouting.istio"}},
		{name: "a header route in blue/green", edit: func(s map[string]any) {
			s["strategy"] = map[string]any{"blueGreen": map[string]any{"activeService": "web", "prePromotion": []any{header}}}
		}, wantErr: []string{"spec.strategy.blueGreen.prePromotion", "header, cookie or mirror routes have no place in blue/green"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admit(t, c, ns, valid, tt.edit, tt.wantErr)
		})
	}
}
