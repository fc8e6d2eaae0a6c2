package config

import (
	"regexp"
	"slices"
	"strings"
)

// SLIFile is a Keptn sli.yaml: named queries for one SLI provider.
type SLIFile struct {
	Pos         `yaml:"-"`
	File        string            `yaml:"-"`
	SpecVersion string            `yaml:"spec_version"`
	Indicators  map[string]string `yaml:"indicators"`
}

// SLIFileName is the file each provider reads, in a folder named after the provider (prometheus/sli.yaml).
const SLIFileName = "sli.yaml"

// BuiltinPrometheusSLIs are the indicators Keptn's prometheus-service answered without an sli.yaml entry.
var BuiltinPrometheusSLIs = []string{"throughput", "error_rate", "response_time_p50", "response_time_p90", "response_time_p95"}

// ReadSLIFile reads and validates an sli.yaml.
func ReadSLIFile(path string) (*SLIFile, Diagnostics) {
	return readFile(path, "SLI file", ParseSLIFile)
}

// placeholderRE finds $NAME placeholders; prometheus-service replaced $LABEL.key too.
var placeholderRE = regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_.-]+)?`)

// ParseSLIFile decodes and validates SLI content.
func ParseSLIFile(file string, data []byte) (*SLIFile, Diagnostics) {
	var diags Diagnostics
	d := diagnoser{file: file, diags: &diags}
	f := &SLIFile{File: file}
	if !decodeKeptnFile(d, data, f, "indicators: {name: query}") {
		return nil, diags
	}
	if f.Indicators == nil {
		d.errorf(f.LineOf("indicators"), "no indicators; expected indicators: {name: query}")
	}
	names := make([]string, 0, len(f.Indicators))
	for name := range f.Indicators {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		line := f.LineOf("indicators." + name)
		query := f.Indicators[name]
		if strings.TrimSpace(query) == "" {
			d.errorf(line, "indicator %q has an empty query", name)
		}
		for _, ph := range placeholderRE.FindAllString(query, -1) {
			if ph == "$DURATION" {
				d.warnf(line, "indicator %q uses $DURATION, which Keptn's prometheus-service never replaced; use $DURATION_SECONDS", name)
			}
		}
	}
	return f, diags
}

// MergeSLIs merges indicator sets key by key; later sets override earlier ones. Pass them from the widest
// scope to the narrowest (project, stage, service), as Keptn's providers did.
func MergeSLIs(files ...*SLIFile) map[string]string {
	merged := map[string]string{}
	for _, f := range files {
		if f == nil {
			continue
		}
		for k, v := range f.Indicators {
			merged[k] = v
		}
	}
	return merged
}
