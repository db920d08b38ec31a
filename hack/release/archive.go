package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// member is one file of a CLI archive.
type member struct {
	name string
	mode fs.FileMode
	data []byte
}

// writeArchive writes members as a .tar.gz, or a .zip when name ends so,
// with every time set to created and no owner, so the same files give the
// same bytes.
func writeArchive(name string, members []member, created time.Time) error {
	var b bytes.Buffer
	if filepath.Ext(name) == ".zip" {
		zw := zip.NewWriter(&b)
		for _, m := range members {
			h := &zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: created}
			h.SetMode(m.mode)
			w, err := zw.CreateHeader(h)
			if err != nil {
				return err
			}
			if _, err := w.Write(m.data); err != nil {
				return err
			}
		}
		if err := zw.Close(); err != nil {
			return err
		}
	} else {
		gz, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		tw := tar.NewWriter(gz)
		for _, m := range members {
			if err := tw.WriteHeader(&tar.Header{
				Name: m.name, Mode: int64(m.mode.Perm()), Size: int64(len(m.data)), ModTime: created,
				Typeflag: tar.TypeReg, Format: tar.FormatPAX,
			}); err != nil {
				return err
			}
			if _, err := tw.Write(m.data); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		if err := gz.Close(); err != nil {
			return err
		}
	}
	return os.WriteFile(name, b.Bytes(), 0o644)
}

// tarDir writes a folder (an OCI layout) as an uncompressed tar, entries
// sorted, times set to created.
func tarDir(dir, name string, created time.Time) error {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: created, Format: tar.FormatPAX, Mode: 0o644}
		if d.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
			return tw.WriteHeader(h)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		h.Typeflag, h.Size = tar.TypeReg, int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(name, b.Bytes(), 0o644)
}
