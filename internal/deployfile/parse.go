package deployfile

import (
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// Parse reads a deploy file. A field the product never had (a typo) is an
// error naming it.
func Parse(data []byte) (*File, error) {
	f := &File{}
	if err := yaml.UnmarshalStrict(data, f); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "json: unknown field"); i >= 0 {
			msg = "unknown field" + strings.TrimPrefix(msg[i:], "json: unknown field")
		}
		return nil, fmt.Errorf("deploy file: %s", msg)
	}
	return f, nil
}

// UnmarshalJSON reads `setWeight: 25` as well as `setWeight: {weight: 25}`.
func (w *SetWeight) UnmarshalJSON(data []byte) error {
	var n int
	if err := json.Unmarshal(data, &n); err == nil {
		w.Weight = n
		return nil
	}
	type plain SetWeight
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	return dec.Decode((*plain)(w))
}
