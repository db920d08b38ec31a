package deployfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Parse reads a deploy file. Fields the product never had (typos) and keys
// written twice are errors, all of them, each with its path. The types say
// `setWeight: {weight: 25}`; the short `setWeight: 25` is read too.
func Parse(data []byte) (*File, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("deploy file: %w", err)
	}
	var doc any
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, fmt.Errorf("deploy file: %w", err)
	}
	shortWeights(doc)
	if js, err = json.Marshal(doc); err != nil {
		return nil, err
	}
	f := &File{}
	strict, err := kjson.UnmarshalStrict(js, f, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("deploy file: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if len(strict) > 0 {
		errs := make([]error, len(strict))
		for i, e := range strict {
			errs[i] = fmt.Errorf("deploy file: %s", strings.TrimPrefix(e.Error(), "json: "))
		}
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// shortWeights rewrites `setWeight: 25` as `setWeight: {weight: 25}`,
// wherever a step is, so that the strict decoder sees one shape.
func shortWeights(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if n, ok := x.(float64); ok && k == "setWeight" {
				v[k] = map[string]any{"weight": n}
				continue
			}
			shortWeights(x)
		}
	case []any:
		for _, x := range v {
			shortWeights(x)
		}
	}
}
