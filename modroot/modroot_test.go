package modroot

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir finds this module's root from a package folder, and nothing outside a module.
func TestDir(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "modroot", "modroot.go")); err != nil {
		t.Errorf("Dir() = %s is not this module's root: %v", dir, err)
	}
	t.Chdir(t.TempDir())
	if dir, err := Dir(); err == nil {
		t.Errorf("Dir() outside any module = %s, want an error", dir)
	}
}
