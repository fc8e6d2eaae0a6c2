package kubetest

import (
	"context"
	"encoding/json"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// The server answers authenticated requests, refuses others, and reports the version it was built as.
func TestServerAnswers(t *testing.T) {
	s := Shared(t)
	ctx := context.Background()
	body, err := s.Do(ctx, "GET", "/version")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ GitVersion string }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != Version {
		t.Errorf("version %q, want %q", v.GitVersion, Version)
	}
	if _, err := s.Do(ctx, "GET", "/api/v1/namespaces/no-such-namespace"); !IsNotFound(err) {
		t.Errorf("missing namespace: %v, want 404", err)
	}
	anon := &Server{URL: s.URL, Token: "wrong"}
	if _, err := anon.Do(ctx, "GET", "/api/v1/namespaces"); err == nil {
		t.Error("a wrong token was accepted")
	}
	if _, err := os.Stat(s.Kubeconfig); err != nil {
		t.Error(err)
	}
}
