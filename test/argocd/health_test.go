package argocd

import (
	"strings"
	"testing"
)

// rollout is a Rollout at generation 2 with the given observed
// generation and conditions ("Type=Status" each, the message "msg Type").
func rollout(observed int, conds ...string) map[string]any {
	var list []any
	for _, c := range conds {
		typ, status, _ := strings.Cut(c, "=")
		list = append(list, map[string]any{"type": typ, "status": status, "reason": "R" + typ, "message": "msg " + typ})
	}
	status := map[string]any{"observedGeneration": int64(observed)}
	if list != nil {
		status["conditions"] = list
	}
	return map[string]any{
		"apiVersion": "ramp.dev/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": "web", "generation": int64(2)},
		"status":   status,
	}
}

func TestHealth(t *testing.T) {
	script, err := Script()
	if err != nil {
		t.Fatal(err)
	}
	noStatus := rollout(0)
	delete(noStatus, "status")
	for _, tc := range []struct {
		name        string
		obj         map[string]any
		status, msg string
	}{
		{"no status yet", noStatus, "Progressing", "waiting for the controller to observe the Rollout"},
		{"generation not observed", rollout(1, "Ready=True", "Reconciling=False"), "Progressing", "waiting for the controller to observe generation 2"},
		{"healthy", rollout(2, "Ready=True", "Reconciling=False", "Stalled=False", "Paused=False"), "Healthy", "msg Ready"},
		{"scaling", rollout(2, "Ready=False", "Reconciling=True", "Stalled=False"), "Progressing", "msg Reconciling"},
		{"canary", rollout(2, "Ready=False", "Reconciling=True", "Paused=False", "Stalled=False"), "Progressing", "msg Reconciling"},
		{"ready but settling", rollout(2, "Ready=True", "Reconciling=True"), "Progressing", "msg Reconciling"},
		{"paused", rollout(2, "Ready=False", "Reconciling=True", "Paused=True", "Stalled=False"), "Suspended", "msg Paused"},
		{"rolled back", rollout(2, "Ready=False", "Reconciling=False", "Paused=False", "Stalled=True"), "Degraded", "msg Stalled"},
		{"spec at fault while paused", rollout(2, "Paused=True", "Stalled=True"), "Degraded", "msg Stalled"},
		{"no conditions", rollout(2), "Progressing", "waiting for the controller to observe the Rollout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, msg, err := Health(script, tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			if status != tc.status || msg != tc.msg {
				t.Errorf("got %s (%q), want %s (%q)", status, msg, tc.status, tc.msg)
			}
		})
	}
}

// TestHealthRunsWithoutTheStringLibrary: Argo CD opens no string library,
// so a script that calls one fails here as it would there.
func TestHealthRunsWithoutTheStringLibrary(t *testing.T) {
	_, _, err := Health(`return { status = string.upper("healthy") }`, rollout(2))
	if err == nil {
		t.Fatal("a script calling the string library ran")
	}
	if _, _, err := Health(`return { status = "Fine" }`, rollout(2)); err == nil || !strings.Contains(err.Error(), "Fine") {
		t.Errorf("an unknown status was taken: %v", err)
	}
}
