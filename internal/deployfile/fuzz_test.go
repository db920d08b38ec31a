package deployfile

import (
	"strings"
	"testing"
)

// FuzzDeployFile: any bytes are refused with errors, or parsed and
// translated (errors or a plan) without panicking. Manifest paths are
// pointed at an empty folder: the fuzzer must not read the machine's
// files.
func FuzzDeployFile(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(strings.Replace(base, "constraints: {dependsOn: [staging]}",
		"constraints: {beforeDeployment: [{runWebhook: {name: smoke}}], afterDeployment: [{pause: {duration: 1, unit: seconds}}]}", 1)))
	f.Add([]byte("version: v1\nkind: kubernetes\ntargets: {a: {namespace: n, strategy: s}}\nstrategies: {s: {canary: {steps: [{setWeight: 5}]}}}\nmanifests: [{inline: 'kind: Deployment'}]\n"))
	f.Add([]byte("targets: [1, 2]"))
	f.Add([]byte("{{armory.nope}}: {"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "deploy file: ") {
				t.Fatalf("error %q does not say it is about the deploy file", err)
			}
			return
		}
		for i := range file.Manifests {
			if file.Manifests[i].Path != "" {
				file.Manifests[i].Path = "missing.yaml"
			}
		}
		plan, err := Translate(file, Options{Dir: dir, MetricProviders: map[string]string{"prom": "http://127.0.0.1:9090"}})
		if err == nil && plan == nil {
			t.Fatal("no plan and no error")
		}
	})
}
