package analysis

import (
	"testing"

	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

func TestAssemble(t *testing.T) {
	metric := func(name string) rampv1.Metric { return rampv1.Metric{Name: name} }
	tmpl := func(name string, args []rampv1.Argument, metrics ...rampv1.Metric) Template {
		return Template{Name: name, Spec: &rampv1.AnalysisTemplateSpec{Args: args, Metrics: metrics}}
	}
	arg := func(name string, value *string) rampv1.Argument { return rampv1.Argument{Name: name, Value: value} }
	tests := []struct {
		name      string
		templates []Template
		given     []rampv1.Argument
		wantArgs  string
		wantErr   string
	}{
		{name: "defaults, and given values over them",
			templates: []Template{tmpl("a", []rampv1.Argument{arg("x", ptr.To("1")), arg("y", ptr.To("2"))}, metric("m"))},
			given:     []rampv1.Argument{arg("y", ptr.To("3"))}, wantArgs: "x=1 y=3"},
		{name: "the first template's default wins, a given value over both",
			templates: []Template{tmpl("a", []rampv1.Argument{arg("x", ptr.To("1"))}, metric("m")), tmpl("b", []rampv1.Argument{arg("x", ptr.To("9")), arg("z", nil)}, metric("n"))},
			given:     []rampv1.Argument{arg("z", ptr.To("5"))}, wantArgs: "x=1 z=5"},
		{name: "a value for no declared argument is kept",
			templates: []Template{tmpl("a", nil, metric("m"))}, given: []rampv1.Argument{arg("extra", ptr.To("e"))}, wantArgs: "extra=e"},
		{name: "an argument with no value",
			templates: []Template{tmpl("a", []rampv1.Argument{arg("x", nil)}, metric("m"))},
			wantErr:   `argument "x" of analysis templates [a] has no value: give it in the step's args`},
		{name: "a metric twice",
			templates: []Template{tmpl("a", nil, metric("m")), tmpl("b", nil, metric("m"))},
			wantErr:   `analysis templates [a b] define metric "m" twice; rename one`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Assemble(tt.templates, tt.given)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for i, a := range spec.Args {
				if i > 0 {
					got += " "
				}
				got += a.Name + "=" + *a.Value
			}
			if got != tt.wantArgs {
				t.Errorf("args %s, want %s", got, tt.wantArgs)
			}
		})
	}
}
