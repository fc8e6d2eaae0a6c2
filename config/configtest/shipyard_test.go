package configtest

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestTutorialShipyardLoads(t *testing.T) {
	for name, shipyard := range map[string]string{
		"tutorial":            TutorialShipyard,
		"without qa rollback": Variant(TutorialShipyard, QARollback, ""),
	} {
		p := WriteProject(t, filepath.Join(t.TempDir(), "fulltour"), map[string]string{"shipyard.yaml": shipyard})
		if got := len(p.Shipyard.Spec.Stages); got != 2 {
			t.Errorf("%s: %d stages, want qa and production", name, got)
		}
	}
}

func TestVariantPanicsWhenTheBaseNoLongerMatches(t *testing.T) {
	for _, oldNew := range [][]string{
		{"name: staging", "name: hardening"}, // not in the base
		{"- name: deployment\n", ""},         // twice in the base
		{"odd"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Variant(%q) did not panic", oldNew)
				}
			}()
			Variant(TutorialShipyard, oldNew...)
		}()
	}
	if got := Variant("a b c", "b", "B"); got != "a B c" {
		t.Errorf("Variant = %q", got)
	}
	if strings.Contains(Variant(TutorialShipyard, QARollback, ""), "rollback") {
		t.Error("QARollback is not TutorialShipyard's only rollback")
	}
}
