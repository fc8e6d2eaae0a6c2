package config

import (
	"fmt"
	"sort"
	"strings"
)

// Severity says whether a diagnostic stops a file from being used.
type Severity int

const (
	// SeverityError means the file cannot be used as written.
	SeverityError Severity = iota
	// SeverityWarning means the file works, but probably not as its author meant.
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem found in a file, located by line so an editor can jump to it.
type Diagnostic struct {
	File     string
	Line     int // 1-based; 0 when the problem concerns the whole file
	Severity Severity
	Message  string
	// Code names problems that a tool may treat specially; most diagnostics have none. See the Code*
	// constants.
	Code string
}

// Codes of SLO problems that Keptn reported as a failed evaluation rather than an unusable file: the engine
// scores such an SLO and fails it with Keptn's message. `shipgate evaluate` does the same for all but
// CodeSLONotSLO, which it refuses as invalid input.
const (
	CodeSLOCriteria     = "slo-criteria"
	CodeSLOTotalScore   = "slo-total-score"
	CodeSLONoObjectives = "slo-no-objectives"
	// CodeSLONotSLO marks a file that is no SLO at all (a shipyard, SLI values): Keptn scored it as an SLO
	// without objectives.
	CodeSLONotSLO = "slo-not-slo"
)

// String renders the diagnostic as FILE:LINE: message, the form compilers and linters use, so that
// editors and CI log viewers turn it into a link. Warnings say so after the location.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d", d.Line)
	}
	b.WriteString(": ")
	if d.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// Diagnostics is every problem found while loading, in file and line order once sorted.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error rather than a warning.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Errors returns only the errors.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(SeverityError) }

// Warnings returns only the warnings.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(SeverityWarning) }

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// Sort orders diagnostics by file, then line, keeping the order of those on the same line.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].File != ds[j].File {
			return ds[i].File < ds[j].File
		}
		return ds[i].Line < ds[j].Line
	})
}

// Err returns the errors as one error value, or nil when there are none (warnings alone are not an
// error). The returned error keeps the individual diagnostics for callers that want them.
func (ds Diagnostics) Err() error {
	errs := ds.Errors()
	if len(errs) == 0 {
		return nil
	}
	return &LoadError{Diagnostics: errs}
}

// LoadError is returned when a file cannot be used; every line of its message is one FILE:LINE diagnostic.
type LoadError struct {
	Diagnostics Diagnostics
}

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// diagnoser collects diagnostics for one file.
type diagnoser struct {
	file  string
	diags *Diagnostics
}

func (d diagnoser) errorf(line int, format string, args ...any) {
	*d.diags = append(*d.diags, Diagnostic{File: d.file, Line: line, Severity: SeverityError, Message: fmt.Sprintf(format, args...)})
}

func (d diagnoser) errorCode(code string, line int, format string, args ...any) {
	*d.diags = append(*d.diags, Diagnostic{File: d.file, Line: line, Severity: SeverityError, Message: fmt.Sprintf(format, args...), Code: code})
}

func (d diagnoser) warnf(line int, format string, args ...any) {
	*d.diags = append(*d.diags, Diagnostic{File: d.file, Line: line, Severity: SeverityWarning, Message: fmt.Sprintf(format, args...)})
}

func (d diagnoser) report(sev Severity, line int, format string, args ...any) {
	if sev == SeverityWarning {
		d.warnf(line, format, args...)
		return
	}
	d.errorf(line, format, args...)
}
