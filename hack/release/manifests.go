package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/rampcd/ramp/internal/manifest"
)

// installManifest renders config/default as `kubectl apply -k` would, with
// the controller's image pinned to ref (repository:tag@digest): the
// install.yaml of a release.
func (p *project) installManifest(ref string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(p.root, "config", "default"))
	if err != nil {
		return nil, fmt.Errorf("render config/default: %w", err)
	}
	data, err := res.AsYaml()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString("# Ramp " + p.version + ": kubectl apply --server-side -f install.yaml (docs/install.md)\n")
	pinned := 0
	for _, d := range manifest.Documents(data) {
		if d.Err != nil {
			return nil, fmt.Errorf("config/default document %d: %w", d.Index, d.Err)
		}
		if d.Object.GetKind() == "Deployment" {
			n, err := setImage(d.Object, ref)
			if err != nil {
				return nil, err
			}
			pinned += n
		}
		doc, err := yaml.Marshal(d.Object.Object)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(doc)
	}
	if pinned != 1 {
		return nil, fmt.Errorf("config/default has %d containers running %s; want the controller's alone", pinned, p.repository)
	}
	return out.Bytes(), nil
}

// setImage points every container of a Deployment that runs the
// repository's image at ref, and counts them.
func setImage(d *unstructured.Unstructured, ref string) (int, error) {
	repo, _, _ := strings.Cut(ref, ":")
	containers, _, err := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range containers {
		cm := c.(map[string]any)
		if image, _ := cm["image"].(string); image == repo || strings.HasPrefix(image, repo+":") || strings.HasPrefix(image, repo+"@") {
			cm["image"] = ref
			n++
		}
	}
	return n, unstructured.SetNestedSlice(d.Object, containers, "spec", "template", "spec", "containers")
}

// crdsManifest joins the CRDs, for those who install them apart.
func (p *project) crdsManifest() ([]byte, error) {
	files, err := filepath.Glob(filepath.Join(p.root, "config", "crd", "bases", "*.yaml"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var out bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !bytes.HasPrefix(data, []byte("---")) {
			out.WriteString("---\n")
		}
		out.Write(data)
	}
	return out.Bytes(), nil
}
