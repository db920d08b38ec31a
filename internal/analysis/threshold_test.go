package analysis

import "testing"

func TestFindThreshold(t *testing.T) {
	args := map[string]string{"max": "0.05", "name": "web"}
	for _, tc := range []struct {
		cond string
		want Threshold
		ok   bool
	}{
		{"result <= 0.01", Threshold{"<=", 0.01}, true},
		{"result[0] < 5", Threshold{"<", 5}, true},
		{"0.99 <= result", Threshold{">=", 0.99}, true},
		{"result > double(args.max)", Threshold{">", 0.05}, true},
		{"double(args.max) > result[0]", Threshold{"<", 0.05}, true},
		{"result >= args.max", Threshold{">=", 0.05}, true},
		{"result <= double(args.missing)", Threshold{}, false},
		{"result <= double(args.name)", Threshold{}, false},
		{"result[1] <= 0.01", Threshold{}, false},
		{"result <= 0.01 && result >= 0", Threshold{}, false},
		{"size(result) == 0", Threshold{}, false},
		{"result == 1", Threshold{}, false},
		{"result <=", Threshold{}, false},
		{"", Threshold{}, false},
	} {
		got, ok := FindThreshold(tc.cond, args)
		if ok != tc.ok || got != tc.want {
			t.Errorf("FindThreshold(%q) = %+v, %v; want %+v, %v", tc.cond, got, ok, tc.want, tc.ok)
		}
	}
}
