// Package manifest reads Kubernetes manifests: the files of a path, and
// the documents of a YAML stream.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Files lists a path's manifests: the file itself, or a folder's .yaml,
// .yml and .json files.
func Files(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".json")) {
			files = append(files, filepath.Join(path, n))
		}
	}
	return files, nil
}

// Document is one document of a stream: its object, or why it is none.
type Document struct {
	// Index counts the stream's non-empty documents from 1.
	Index  int
	Object *unstructured.Unstructured
	Err    error
}

// Documents splits a YAML stream, skipping empty documents. A document
// that is not an object is returned with its error; the stream goes on.
func Documents(data []byte) []Document {
	var docs []Document
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		d := Document{Index: len(docs) + 1}
		if err != nil {
			d.Err = err
			return append(docs, d)
		}
		// Through apimachinery's JSON, as the API server reads it: whole
		// numbers are int64, not float64 (int-or-string fields care).
		obj := map[string]any{}
		data, err := yaml.YAMLToJSON(raw)
		if err == nil {
			err = utiljson.Unmarshal(data, &obj)
		}
		if err != nil {
			d.Err = fmt.Errorf("not YAML: %w", err)
		} else if len(obj) == 0 {
			continue
		} else {
			d.Object = &unstructured.Unstructured{Object: obj}
			if d.Object.GetAPIVersion() == "" || d.Object.GetKind() == "" {
				d.Err = errors.New("apiVersion and kind are required")
			}
		}
		docs = append(docs, d)
	}
}
