package traffic

import "testing"

func TestPodShare(t *testing.T) {
	tests := []struct {
		pods Pods
		want string
	}{
		{Pods{Stable: 3, Canary: 1}, "25"},
		{Pods{Stable: 2, Canary: 1}, "33.333"},
		{Pods{Stable: 0, Canary: 4}, "100"},
		{Pods{Stable: 4, Canary: 0}, "0"},
		{Pods{}, "0"},
	}
	for _, tt := range tests {
		if got := PodShare(tt.pods).String(); got != tt.want {
			t.Errorf("PodShare(%+v) = %s, want %s", tt.pods, got, tt.want)
		}
	}
}
