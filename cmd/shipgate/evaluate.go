package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine/slo"
)

func newEvaluateCmd() *cobra.Command {
	var sloPath, sliPath, historyPath, output string
	cmd := &cobra.Command{
		Use:   "evaluate --slo slo.yaml --sli values.json [--history history.json] [--output table|json]",
		Short: "Score SLI values against an SLO, as Keptn's lighthouse did",
		Long: `Evaluate scores one set of SLI values against an slo.yaml with no server, for CI pipelines and for
checking SLO files.

  values.json   {"sli_name": number or null}   (null: the provider could not get a value)
  history.json  earlier evaluations, newest first: [{"sli": {...}, "result": "pass|warning|fail"}]
                relative criteria compare against them, filtered and counted as the SLO's comparison says

Exit status: 0 pass or warning, 1 fail, 2 invalid input (each problem as FILE:LINE: message).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if output != "table" && output != "json" {
				fmt.Fprintf(errOut, "shipgate evaluate: --output must be table or json, not %q\n", output)
				return exitError{exitUsage}
			}
			if sloPath == "" || sliPath == "" {
				fmt.Fprintln(errOut, "shipgate evaluate: --slo and --sli are required")
				return exitError{exitUsage}
			}
			s, values, history, diags := readEvaluationInput(sloPath, sliPath, historyPath)
			for _, d := range diags {
				fmt.Fprintln(errOut, d)
			}
			if s == nil || invalidInput(diags) {
				return exitError{exitUsage}
			}
			ev := slo.Evaluate(s, values, history)
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(ev); err != nil {
					return err
				}
			} else {
				printScoreTable(out, ev)
			}
			if ev.Result == slo.Fail {
				return exitError{exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&sloPath, "slo", "", "slo.yaml to score with")
	cmd.Flags().StringVar(&sliPath, "sli", "", "JSON object of SLI values")
	cmd.Flags().StringVar(&historyPath, "history", "", "JSON array of earlier evaluations, newest first")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

// invalidInput reports whether the input cannot be scored. SLO problems that Keptn turned into a failed
// evaluation (unparseable criteria or total score, no objectives) are scored, and fail with its message;
// a file that is no SLO at all (CodeSLONotSLO) is refused, since failing it would read as a failed gate.
func invalidInput(diags config.Diagnostics) bool {
	for _, d := range diags.Errors() {
		switch d.Code {
		case config.CodeSLOCriteria, config.CodeSLOTotalScore, config.CodeSLONoObjectives:
		default:
			return true
		}
	}
	return false
}

func readEvaluationInput(sloPath, sliPath, historyPath string) (*config.SLO, map[string]slo.Value, []slo.Previous, config.Diagnostics) {
	s, diags := config.ReadSLO(sloPath)
	values, vd := readValuesFile(sliPath)
	diags = append(diags, vd...)
	var history []slo.Previous
	if historyPath != "" {
		var hd config.Diagnostics
		history, hd = readHistoryFile(historyPath)
		diags = append(diags, hd...)
	}
	return s, values, history, diags
}

// readValuesFile reads {"sli": number or null}, reporting a value of another kind at its line.
func readValuesFile(path string) (map[string]slo.Value, config.Diagnostics) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, jsonProblem(path, nil, 0, fmt.Sprintf("cannot read SLI values: %v", err))
	}
	raw, diags := decodeValues(path, data)
	return toValues(raw), diags
}

const valuesExpected = `an object of SLI values such as {"response_time_p95": 412.5, "error_rate": null}`

// decodeValues reads a {"sli": number or null} object.
func decodeValues(path string, data []byte) (map[string]*float64, config.Diagnostics) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if err == nil {
			err = errors.New("not an object")
		}
		return nil, jsonError(path, data, err, valuesExpected)
	}
	values := map[string]*float64{}
	var diags config.Diagnostics
	for dec.More() {
		at := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(path, data, err, valuesExpected)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, jsonError(path, data, err, valuesExpected)
		}
		name := tok.(string)
		if string(v) == "null" {
			values[name] = nil
			continue
		}
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			diags = append(diags, jsonProblem(path, data, at, fmt.Sprintf("%s is %s, expected a number or null", name, v))...)
			continue
		}
		values[name] = &f
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(path, data, err, valuesExpected)
	}
	return values, diags
}

func toValues(raw map[string]*float64) map[string]slo.Value {
	values := make(map[string]slo.Value, len(raw))
	for k, v := range raw {
		if v == nil {
			values[k] = slo.Value{Message: "no value"}
			continue
		}
		values[k] = slo.Value{Value: *v, OK: true}
	}
	return values
}

// readHistoryFile reads [{"sli": {...}, "result": "pass|warning|fail"}], newest first. Entries are
// numbered from 1 (newest) as their ids.
func readHistoryFile(path string) ([]slo.Previous, config.Diagnostics) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, jsonProblem(path, nil, 0, fmt.Sprintf("cannot read history: %v", err))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	const expected = `an array of earlier evaluations, newest first, such as [{"sli": {"response_time_p95": 400}, "result": "pass"}]`
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		if err == nil {
			err = errors.New("not an array")
		}
		return nil, jsonError(path, data, err, expected)
	}
	var (
		history []slo.Previous
		diags   config.Diagnostics
	)
	for dec.More() {
		start := dec.InputOffset()
		var entry struct {
			SLI    map[string]*float64 `json:"sli"`
			Result string              `json:"result"`
		}
		if err := dec.Decode(&entry); err != nil {
			return nil, jsonError(path, data, err, expected)
		}
		if entry.Result != slo.Pass && entry.Result != slo.Warning && entry.Result != slo.Fail {
			diags = append(diags, jsonProblem(path, data, start, fmt.Sprintf("evaluation %d: result %q is not pass, warning or fail", len(history)+1, entry.Result))...)
		}
		history = append(history, slo.Previous{ID: int64(len(history) + 1), Result: entry.Result, Values: toValues(entry.SLI)})
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(path, data, err, expected)
	}
	return history, diags
}

// jsonError turns a decoding error into a FILE:LINE diagnostic.
func jsonError(path string, data []byte, err error, expected string) config.Diagnostics {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		offset int64
		msg    = err.Error()
	)
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset
	case errors.As(err, &typ):
		offset, msg = typ.Offset, fmt.Sprintf("%s is a JSON %s, expected a number or null", strings.TrimPrefix(typ.Field, "."), typ.Value)
		if typ.Field == "" {
			msg = fmt.Sprintf("found a JSON %s", typ.Value)
		}
	}
	return jsonProblem(path, data, offset, fmt.Sprintf("%s; expected %s", strings.TrimPrefix(msg, "json: "), expected))
}

func jsonProblem(path string, data []byte, offset int64, msg string) config.Diagnostics {
	line := 0
	if data != nil {
		if offset > int64(len(data)) {
			offset = int64(len(data))
		}
		// Point at the first character after the offset that is not white space or a separator.
		for offset < int64(len(data)) && strings.ContainsRune(" \t\r\n,", rune(data[offset])) {
			offset++
		}
		line = bytes.Count(data[:offset], []byte("\n")) + 1
	}
	return config.Diagnostics{{File: path, Line: line, Severity: config.SeverityError, Message: msg}}
}

// printScoreTable prints the score table the bot posts in chat, aligned for a terminal.
func printScoreTable(w io.Writer, ev slo.Evaluation) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(slo.TableHeader, "\t"))
	for _, row := range ev.Rows() {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, ev.Summary())
	if ev.Message != "" {
		fmt.Fprintln(w, ev.Message)
	}
}
