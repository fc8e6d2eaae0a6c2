package config

import (
	"maps"
	"testing"
)

func TestSLIFileTutorial(t *testing.T) {
	f, diags := ReadSLIFile("../examples/fulltour/helloservice/prometheus/sli.yaml")
	checkDiags(t, diags)
	want := "sum(rate(http_requests_total{job='$SERVICE-$PROJECT-$STAGE'}[$DURATION_SECONDS]))"
	if f.Indicators["throughput"] != want {
		t.Errorf("throughput = %q, want %q", f.Indicators["throughput"], want)
	}
	if len(f.Indicators) != 3 {
		t.Errorf("%d indicators, want 3", len(f.Indicators))
	}
}

func TestSLIFileValidation(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{"no indicators", "spec_version: '1.0'\n", []want{errAt(1, "no indicators")}},
		{"empty query", "indicators:\n  a: ''\n  b: up\n", []want{errAt(2, `indicator "a" has an empty query`)}},
		{"$DURATION", "indicators:\n  rt: rate(x[$DURATION])\n  ok: rate(x[$DURATION_SECONDS])\n", []want{warnAt(2, "use $DURATION_SECONDS")}},
		{"not a map", "indicators: [a, b]\n", []want{errAt(1, "indicators: expected a mapping, got a list"), errAt(1, "no indicators")}},
		{"empty", "", []want{errAt(0, "file is empty; expected indicators")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := ParseSLIFile("sli.yaml", []byte(tt.doc))
			checkDiags(t, diags, tt.want...)
		})
	}
}

func TestMergeSLIsNarrowestWins(t *testing.T) {
	project := &SLIFile{Indicators: map[string]string{"a": "project-a", "b": "project-b", "c": "project-c"}}
	stage := &SLIFile{Indicators: map[string]string{"b": "stage-b", "c": "stage-c"}}
	service := &SLIFile{Indicators: map[string]string{"c": "service-c", "d": "service-d"}}
	got := MergeSLIs(project, stage, nil, service)
	want := map[string]string{"a": "project-a", "b": "stage-b", "c": "service-c", "d": "service-d"}
	if !maps.Equal(got, want) {
		t.Errorf("merged = %v, want %v", got, want)
	}
	if project.Indicators["c"] != "project-c" {
		t.Error("merging changed an input")
	}
}
