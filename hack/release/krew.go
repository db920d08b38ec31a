package main

import (
	"sigs.k8s.io/yaml"
)

// The krew plugin manifest (krew.googlecontainertools.github.com/v1alpha2
// Plugin), as krew's index reads it. Written here rather than with krew's
// own types: its module pins client-go v11, which would replace Ramp's.
type krewPlugin struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Metadata   krewMetadata `json:"metadata"`
	Spec       krewSpec     `json:"spec"`
}

type krewMetadata struct {
	Name string `json:"name"`
}

type krewSpec struct {
	Version          string         `json:"version"`
	Homepage         string         `json:"homepage"`
	ShortDescription string         `json:"shortDescription"`
	Description      string         `json:"description"`
	Platforms        []krewPlatform `json:"platforms"`
}

type krewPlatform struct {
	Selector krewSelector `json:"selector"`
	URI      string       `json:"uri"`
	SHA256   string       `json:"sha256"`
	Bin      string       `json:"bin"`
}

type krewSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

// krewArchive is one platform's CLI archive.
type krewArchive struct {
	platform platform
	name     string // file name, as published with the release
	sha256   string
}

// krewManifest writes the plugin manifest that installs `kubectl ramp` from
// the release's archives.
func (p *project) krewManifest(archives []krewArchive) ([]byte, error) {
	plugin := krewPlugin{
		APIVersion: "krew.googlecontainertools.github.com/v1alpha2",
		Kind:       "Plugin",
		Metadata:   krewMetadata{Name: "ramp"},
		Spec: krewSpec{
			Version:          p.version,
			Homepage:         SourceURL,
			ShortDescription: "Watch, promote and abort progressive canary Rollouts",
			Description: "kubectl ramp is the CLI of Ramp, progressive canary delivery for Kubernetes.\n" +
				"It lists and draws Rollouts (get, status -w), promotes, aborts, retries, pauses\n" +
				"and resumes them, lints and deploys CD-as-a-Service deploy files, and serves\n" +
				"a live dashboard. It needs Ramp's controller in the cluster (see the homepage).\n",
		},
	}
	for _, a := range archives {
		plugin.Spec.Platforms = append(plugin.Spec.Platforms, krewPlatform{
			Selector: krewSelector{MatchLabels: map[string]string{"os": a.platform.os, "arch": a.platform.arch}},
			URI:      SourceURL + "/releases/download/" + p.version + "/" + a.name,
			SHA256:   a.sha256,
			Bin:      a.platform.exe(),
		})
	}
	return yaml.Marshal(plugin)
}
