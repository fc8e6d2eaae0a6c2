package config

import (
	"cmp"
	"errors"
	"math"
	"slices"
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

// direction is -1 for an upper limit (< or <=), 1 for a lower one (> or >=) and 0 for =.
func (c Criterion) direction() int {
	switch c.Operator {
	case "<", "<=":
		return -1
	case ">", ">=":
		return 1
	}
	return 0
}

// String returns the criterion as written.
func (c Criterion) String() string { return c.Raw }

// interval is the set of numbers between lo and hi, each end included or not: what a block of absolute
// criteria accepts. It is empty when lo > hi, or when lo == hi and an end is excluded.
type interval struct {
	lo, hi         float64
	loIncl, hiIncl bool
}

// allNumbers is what a block without criteria accepts.
var allNumbers = interval{lo: math.Inf(-1), hi: math.Inf(1)}

func (iv interval) empty() bool {
	return iv.lo > iv.hi || (iv.lo == iv.hi && !(iv.loIncl && iv.hiIncl))
}

// narrow returns the part of iv that meets an absolute criterion's bound.
func (iv interval) narrow(c Criterion) interval {
	below := func(v float64, incl bool) {
		if v < iv.hi {
			iv.hi, iv.hiIncl = v, incl
		} else if v == iv.hi {
			iv.hiIncl = iv.hiIncl && incl
		}
	}
	above := func(v float64, incl bool) {
		if v > iv.lo {
			iv.lo, iv.loIncl = v, incl
		} else if v == iv.lo {
			iv.loIncl = iv.loIncl && incl
		}
	}
	switch c.Operator {
	case "<":
		below(c.Value, false)
	case "<=":
		below(c.Value, true)
	case "=":
		below(c.Value, true)
		above(c.Value, true)
	case ">=":
		above(c.Value, true)
	case ">":
		above(c.Value, false)
	}
	return iv
}

// contains reports whether every number of o is in iv.
func (iv interval) contains(o interval) bool {
	if o.empty() {
		return true
	}
	loOK := iv.lo < o.lo || (iv.lo == o.lo && (iv.loIncl || !o.loIncl))
	hiOK := o.hi < iv.hi || (o.hi == iv.hi && (iv.hiIncl || !o.hiIncl))
	return loOK && hiOK
}

// union merges intervals into disjoint ones sorted by their lower end; two that touch (such as <1 and
// >=1) become one.
func union(ivs []interval) []interval {
	ivs = slices.DeleteFunc(slices.Clone(ivs), interval.empty)
	slices.SortFunc(ivs, func(a, b interval) int {
		if c := cmp.Compare(a.lo, b.lo); c != 0 {
			return c
		}
		if a.loIncl == b.loIncl {
			return 0
		}
		if a.loIncl {
			return -1
		}
		return 1
	})
	var out []interval
	for _, iv := range ivs {
		if n := len(out); n > 0 && (iv.lo < out[n-1].hi || (iv.lo == out[n-1].hi && (iv.loIncl || out[n-1].hiIncl))) {
			last := &out[n-1]
			if iv.hi > last.hi {
				last.hi, last.hiIncl = iv.hi, iv.hiIncl
			} else if iv.hi == last.hi {
				last.hiIncl = last.hiIncl || iv.hiIncl
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}
