package config

import (
	"errors"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Criterion is one SLO criterion such as "<=+10%" or "<600", parsed with Keptn lighthouse's grammar
// (parseCriteriaString). A criterion that does not parse is kept with Err set: Keptn reports that at
// evaluation time with a documented message, and the evaluator reproduces it.
type Criterion struct {
	Raw  string // as written in the file
	Line int

	Operator string  // <, <=, =, >=, >
	Value    float64 // the number after the operator and sign
	// Relative is true when the target is computed from earlier values (a % suffix or a +/- sign).
	Relative bool
	// Percent is true for a relative change in percent ("<=+10%"), false for an absolute amount ("<=+10").
	Percent bool
	// Increase is false only for a leading "-": the target lies below the baseline.
	Increase bool

	Err error
}

// Criteria errors carry Keptn's own wording, which users search for.
var (
	ErrInvalidCriteria = errors.New("invalid criteria string")
	ErrCriteriaTarget  = errors.New("could not parse criteria target value")
)

// criteriaOperators are tried in Keptn's order; "<=" must come before "<".
var criteriaOperators = []string{"<=", "<", "=", ">=", ">"}

// ParseCriterion parses one criterion the way Keptn did: spaces are removed anywhere, an operator must
// come first, a trailing % makes the criterion a relative change in percent, a leading + or - makes it a
// relative change (increase or decrease), and the rest must parse as a float.
func ParseCriterion(s string) (Criterion, error) {
	c := Criterion{Raw: s, Increase: true}
	rest := strings.ReplaceAll(s, " ", "")
	for _, op := range criteriaOperators {
		if strings.HasPrefix(rest, op) {
			c.Operator = op
			rest = rest[len(op):]
			break
		}
	}
	if c.Operator == "" {
		c.Err = ErrInvalidCriteria
		return c, c.Err
	}
	if r, ok := strings.CutSuffix(rest, "%"); ok {
		c.Relative, c.Percent = true, true
		rest = r
	}
	switch {
	case strings.HasPrefix(rest, "-"):
		c.Relative, c.Increase = true, false
		rest = rest[1:]
	case strings.HasPrefix(rest, "+"):
		c.Relative = true
		rest = rest[1:]
	}
	v, err := strconv.ParseFloat(rest, 64)
	if err != nil {
		c.Err = ErrCriteriaTarget
		return c, c.Err
	}
	c.Value = v
	return c, nil
}

// UnmarshalYAML parses the criterion as it is decoded, remembering its line. It never fails: a criterion
// that does not parse is reported by SLO validation, with the objective it belongs to.
func (c *Criterion) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("a criterion is a string such as \"<=+10%\" or \"<600\"")
	}
	*c, _ = ParseCriterion(n.Value)
	c.Line = n.Line
	return nil
}

// MarshalYAML writes the criterion back as it was written.
func (c Criterion) MarshalYAML() (any, error) { return c.Raw, nil }

// String returns the criterion as written.
func (c Criterion) String() string { return c.Raw }
