package config

import (
	"errors"
	"testing"
)

func TestParseCriterion(t *testing.T) {
	tests := []struct {
		in   string
		want Criterion
		err  error
	}{
		// The cases of Keptn's TestParseCriteriaString, and the spellings users wrote in the tutorials.
		{in: "<10", want: Criterion{Operator: "<", Value: 10, Increase: true}},
		{in: "<=600", want: Criterion{Operator: "<=", Value: 600, Increase: true}},
		{in: "=0", want: Criterion{Operator: "=", Value: 0, Increase: true}},
		{in: ">=-80%", want: Criterion{Operator: ">=", Value: 80, Relative: true, Percent: true, Increase: false}},
		{in: ">-10%", want: Criterion{Operator: ">", Value: 10, Relative: true, Percent: true, Increase: false}},
		{in: "<=+10.5%", want: Criterion{Operator: "<=", Value: 10.5, Relative: true, Percent: true, Increase: true}},
		{in: "<=+10", want: Criterion{Operator: "<=", Value: 10, Relative: true, Increase: true}},
		{in: "<=-5", want: Criterion{Operator: "<=", Value: 5, Relative: true, Increase: false}},
		{in: "<=10%", want: Criterion{Operator: "<=", Value: 10, Relative: true, Percent: true, Increase: true}},
		{in: "  <=+10   %", want: Criterion{Operator: "<=", Value: 10, Relative: true, Percent: true, Increase: true}},
		{in: "> 0.5", want: Criterion{Operator: ">", Value: 0.5, Increase: true}},
		{in: "10", err: ErrInvalidCriteria},
		{in: "", err: ErrInvalidCriteria},
		{in: "!=5", err: ErrInvalidCriteria},
		{in: "<", err: ErrCriteriaTarget},
		{in: "<=abc", err: ErrCriteriaTarget},
		{in: "< 5 ms", err: ErrCriteriaTarget},
		{in: "<=10%%", err: ErrCriteriaTarget},
		{in: "=<5", err: ErrCriteriaTarget},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCriterion(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseCriterion(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got.Raw != tt.in {
				t.Errorf("Raw = %q, want %q", got.Raw, tt.in)
			}
			if tt.err != nil {
				if !errors.Is(got.Err, tt.err) {
					t.Errorf("Err field = %v, want %v", got.Err, tt.err)
				}
				return
			}
			tt.want.Raw = tt.in
			if got != tt.want {
				t.Errorf("ParseCriterion(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseCriterion(f *testing.F) {
	for _, s := range []string{"<10", ">=-80%", "<=+10.5%", "  <= + 1 %", "=0", "<=abc", "%", "-", "<1e309", ">0x1p3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCriterion(s)
		if (err == nil) != (c.Err == nil) {
			t.Fatalf("returned error %v but Err field %v", err, c.Err)
		}
		if err == nil && c.Operator == "" {
			t.Fatalf("%q parsed without an operator", s)
		}
		if c.Raw != s {
			t.Fatalf("Raw %q != input %q", c.Raw, s)
		}
	})
}
