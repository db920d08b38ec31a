package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// digestLine is the line of the chart's values.yaml that a release fills
// in, pinning the image the chart installs.
const digestLine = `  digest: ""`

// packageChart writes charts/ramp as `helm package` would (a .tgz of
// ramp/...), with values.yaml's image.digest set, every time set to the
// commit's, so the same commit gives the same archive. It returns the
// archive's path.
func (p *project) packageChart(digest, outDir string) (string, error) {
	src := filepath.Join(p.root, "charts", "ramp")
	var b bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if rel == "values.yaml" {
			if strings.Count(string(data), digestLine+"\n") != 1 {
				return fmt.Errorf("charts/ramp/values.yaml: want one line %q under image, to pin the digest", digestLine)
			}
			data = []byte(strings.Replace(string(data), digestLine+"\n", `  digest: "`+digest+`"`+"\n", 1))
		}
		if err := tw.WriteHeader(&tar.Header{
			Name: "ramp/" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), ModTime: p.created,
			Typeflag: tar.TypeReg, Format: tar.FormatPAX,
		}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := gz.Close(); err != nil {
		return "", err
	}
	out := filepath.Join(outDir, "ramp-"+p.chartVersion()+".tgz")
	return out, os.WriteFile(out, b.Bytes(), 0o644)
}
