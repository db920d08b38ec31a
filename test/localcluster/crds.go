package localcluster

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

//go:embed crds/smi-trafficsplit.yaml
var smiTrafficSplitCRD []byte

// crdSources lists the manifests the cluster installs: the router CRDs
// from the pinned modules, the SMI fixture, Ramp's own CRDs when the
// checkout has them (config/crd/bases), and Argo Rollouts' if asked.
func (s *starter) crdSources(ctx context.Context) (map[string][]byte, error) {
	sources := map[string][]byte{"smi-trafficsplit.yaml": smiTrafficSplitCRD}
	dirs := []string{s.bins.CRDs}
	if repo, err := RepoDir(); err == nil {
		dirs = append(dirs, filepath.Join(repo, "config", "crd", "bases"))
	}
	if s.opts.ArgoRollouts {
		dir, err := EnsureArgoRolloutsCRDs(ctx, s.opts.Log)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, dir)
	}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return fs.SkipDir
			}
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
				return err
			}
			data, err := os.ReadFile(path)
			sources[path] = data
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return sources, nil
}

// installCRDs server-side applies every CustomResourceDefinition found in
// the sources; other kinds in those files (policies, examples) are skipped.
func (s *starter) installCRDs(ctx context.Context) error {
	sources, err := s.crdSources(ctx)
	if err != nil {
		return fmt.Errorf("localcluster: reading CRDs: %w", err)
	}
	client, err := apiextensions.NewForConfig(s.c.config)
	if err != nil {
		return err
	}
	for path, data := range sources {
		docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := docs.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("localcluster: %s: %w", path, err)
			}
			var meta metav1.PartialObjectMetadata
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				return fmt.Errorf("localcluster: %s: %w", path, err)
			}
			if meta.Kind != "CustomResourceDefinition" {
				continue
			}
			body, err := yaml.YAMLToJSON(doc)
			if err != nil {
				return fmt.Errorf("localcluster: %s: %w", path, err)
			}
			force := true
			_, err = client.ApiextensionsV1().CustomResourceDefinitions().Patch(ctx, meta.Name, types.ApplyPatchType, body,
				metav1.PatchOptions{FieldManager: "localcluster", Force: &force})
			if err != nil {
				return fmt.Errorf("localcluster: installing CRD %s from %s: %w", meta.Name, path, err)
			}
			s.crds = append(s.crds, meta.Name)
		}
	}
	return nil
}

func (s *starter) crdsEstablished(ctx context.Context) (bool, string) {
	client, err := apiextensions.NewForConfig(s.c.config)
	if err != nil {
		return false, err.Error()
	}
	for _, name := range s.crds {
		crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if !crdEstablished(crd) {
			return false, "CRD " + name + " not established"
		}
	}
	return true, ""
}

func crdEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}
