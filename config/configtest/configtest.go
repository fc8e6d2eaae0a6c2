// Package configtest writes Keptn project directories for tests of any package: files from a map of
// paths to contents, copies of example projects, and the project loaded from them; and the Keptn
// tutorial's shipyard that tests share, with explicit variants of it.
package configtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shipgate/shipgate/config"
)

// WriteFiles writes each file (a slash-separated path relative to dir -> its content) under dir, creating
// folders; it fails t on any error.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// WriteProject writes files under dir and loads dir as a project (config.LoadProject), failing t when
// the project has errors.
func WriteProject(t testing.TB, dir string, files map[string]string) *config.Project {
	t.Helper()
	WriteFiles(t, dir, files)
	p, diags := config.LoadProject(dir)
	if diags.HasErrors() {
		t.Fatalf("project %s: %v", dir, diags.Err())
	}
	return p
}

// CopyDir copies a directory tree (files and folders) from src to dst, failing t on any error.
func CopyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
