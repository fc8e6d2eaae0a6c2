package config

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// readFile reads path and hands its content to parse; a file that cannot be read is one diagnostic that
// says what the file was meant to be.
func readFile[T any](path, what string, parse func(file string, data []byte) (*T, Diagnostics)) (*T, Diagnostics) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Diagnostics{{File: path, Severity: SeverityError, Message: fmt.Sprintf("cannot read %s: %v", what, unwrapPathError(err))}}
	}
	return parse(path, data)
}

// decodeKeptnFile decodes a Keptn file into v, reporting to d. Keptn ignored keys it did not know, and a
// file that worked there must load here, so unknown keys are warnings (usually typos such as
// "triggerdOn", which Keptn silently dropped). It returns false, with an error saying what the file
// should hold, when the file has no content.
func decodeKeptnFile(d diagnoser, data []byte, v any, expected string) bool {
	root := keptnRoot(d, data, expected)
	if root == nil {
		return false
	}
	decodeYAML(d, root, v, SeverityWarning)
	return true
}

// keptnRoot parses a Keptn file into its root node, or returns nil, with an error saying what the file
// should hold, when the file has no content.
func keptnRoot(d diagnoser, data []byte, expected string) *yaml.Node {
	root := parseYAML(d, data)
	if root == nil && !d.diags.HasErrors() {
		d.errorf(0, "file is empty; expected %s", expected)
	}
	return root
}
