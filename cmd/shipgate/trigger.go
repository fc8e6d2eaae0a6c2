package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// The CI side of the delivery API: `shipgate trigger` and `shipgate status`.

// Environment variables the API commands read when their flags are not given.
const (
	envServer = "SHIPGATE_SERVER"
	envToken  = "SHIPGATE_TOKEN"
)

// apiClient calls shipgate's delivery API.
type apiClient struct {
	server string
	token  string
	http   *http.Client
}

// apiFlags are the flags every API command has.
type apiFlags struct {
	server, token string
	timeout       time.Duration
}

func (f *apiFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", "", "shipgate's base URL, such as https://shipgate.example.com (default $"+envServer+")")
	cmd.Flags().StringVar(&f.token, "token", "", "an API token from api.tokens in shipgate.yaml (default $"+envToken+"; prefer the variable, which stays out of process lists)")
}

// client checks the flags and returns a client, or prints what is missing.
func (f *apiFlags) client(errOut io.Writer, name string) (*apiClient, error) {
	if f.server == "" {
		f.server = os.Getenv(envServer)
	}
	if f.token == "" {
		f.token = os.Getenv(envToken)
	}
	switch {
	case f.server == "":
		fmt.Fprintf(errOut, "shipgate %s: --server (or $%s) is required\n", name, envServer)
		return nil, exitError{exitUsage}
	case f.token == "":
		fmt.Fprintf(errOut, "shipgate %s: --token (or $%s) is required\n", name, envToken)
		return nil, exitError{exitUsage}
	}
	u, err := url.Parse(f.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(errOut, "shipgate %s: --server %q is not an http(s) URL\n", name, f.server)
		return nil, exitError{exitUsage}
	}
	return &apiClient{server: strings.TrimSuffix(f.server, "/"), token: f.token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// apiError is an answer other than 2xx: the status and the API's error message.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, http.StatusText(e.status), e.msg)
}

// do sends a request with a JSON body (nil for none) and decodes a JSON answer into out.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any, header http.Header) error {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, r)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &apiError{status: resp.StatusCode, msg: e.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the answer is not the JSON expected: %w", err)
	}
	return nil
}

// delivery is what the commands read of GET /api/v1/deliveries/{id}.
type delivery struct {
	ID           int64  `json:"id"`
	KeptnContext string `json:"keptnContext"`
	URL          string `json:"url"`
	Project      string `json:"project"`
	Service      string `json:"service"`
	Image        string `json:"image"`
	State        string `json:"state"`
	Result       string `json:"result"`
	Message      string `json:"message"`
	Stages       []struct {
		Name      string `json:"name"`
		Sequences []struct {
			Name   string `json:"name"`
			State  string `json:"state"`
			Result string `json:"result"`
			Tasks  []struct {
				Name       string `json:"name"`
				State      string `json:"state"`
				Result     string `json:"result"`
				Message    string `json:"message"`
				Evaluation *struct {
					Score float64 `json:"score"`
				} `json:"evaluation"`
			} `json:"tasks"`
		} `json:"sequences"`
		Approvals []struct {
			ID       int64    `json:"id"`
			State    string   `json:"state"`
			Required int      `json:"required"`
			Roles    []string `json:"roles"`
			Voters   []struct {
				Decision string `json:"decision"`
			} `json:"voters"`
		} `json:"approvals"`
	} `json:"stages"`
	Chat []struct {
		Platform  string `json:"platform"`
		Channel   string `json:"channel"`
		MessageID string `json:"messageId"`
		Kind      string `json:"kind"`
		Link      string `json:"link"`
	} `json:"chat"`
}

func (d *delivery) terminal() bool {
	return d.State == "finished" || d.State == "aborted" || d.State == "timedOut"
}

// exitCode is how `trigger --wait` ends for a finished delivery: 0 when it passed (or with warnings), 1
// when it failed, was aborted or timed out.
func (d *delivery) exitCode() int {
	if d.State == "finished" && (d.Result == "pass" || d.Result == "warning") {
		return exitOK
	}
	return exitFailed
}

// progress is one line per task and approval state seen, in order: what `--wait` prints as the delivery
// moves. Lines already printed are not printed again.
func (d *delivery) progress() []string {
	var lines []string
	for _, st := range d.Stages {
		for _, seq := range st.Sequences {
			for _, t := range seq.Tasks {
				line := fmt.Sprintf("%s %s: %s %s", st.Name, seq.Name, t.Name, t.State)
				if t.Result != "" {
					line += " " + t.Result
				}
				if t.Evaluation != nil {
					line += fmt.Sprintf(" (score %.2f)", t.Evaluation.Score)
				}
				if t.Message != "" && t.State == "finished" {
					line += ": " + firstLine(t.Message)
				}
				lines = append(lines, line)
			}
			if seq.State == "finished" || seq.State == "aborted" || seq.State == "timedOut" {
				lines = append(lines, fmt.Sprintf("%s %s: %s %s", st.Name, seq.Name, seq.State, seq.Result))
			}
		}
		for _, a := range st.Approvals {
			approved := 0
			for _, v := range a.Voters {
				if v.Decision == "approve" {
					approved++
				}
			}
			lines = append(lines, fmt.Sprintf("%s approval #%d: %s, %d of %d approvals (role %s)", st.Name, a.ID, a.State, approved, a.Required, strings.Join(a.Roles, " or ")))
		}
	}
	return lines
}

// absolute resolves a link the API gave against the server, so that what is printed can be opened as
// it is: without public_url shipgate answers with paths ("/api/v1/deliveries/12").
func (c *apiClient) absolute(ref string) string {
	base, err := url.Parse(c.server)
	if err != nil || ref == "" {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return base.ResolveReference(r).String()
}

// chatLines say where the delivery's card is in chat: a link where the platform gives one, made absolute
// with abs.
func (d *delivery) chatLines(abs func(string) string) []string {
	var lines []string
	for _, m := range d.Chat {
		switch {
		case m.Kind != "root":
		case m.Link != "":
			lines = append(lines, fmt.Sprintf("chat: %s", abs(m.Link)))
		default:
			lines = append(lines, fmt.Sprintf("chat: %s channel %s, message %s", m.Platform, m.Channel, m.MessageID))
		}
	}
	return lines
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func newTriggerCmd() *cobra.Command {
	var (
		af                          apiFlags
		project, service, image     string
		stage, sequence, idempotent string
		labels                      []string
		wait                        bool
		interval                    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "trigger --server URL --project P --service S --image IMAGE [--label k=v]... [--wait]",
		Short: "Start a delivery from CI (POST /api/v1/deliveries)",
		Long: `Trigger asks a running shipgate to deliver an image, as a CI pipeline's last step does, and prints the
delivery's id and URL. The token comes from --token or $SHIPGATE_TOKEN, the server from --server or
$SHIPGATE_SERVER. The request carries an Idempotency-Key (--idempotency-key, by default one made for
this run), so a retried request starts one delivery.

With --wait it follows the delivery on standard error until it ends.

Exit status: 0 when the delivery was accepted (with --wait: it passed, or passed with warnings); 1 with
--wait when it failed, was aborted or timed out; 2 on a usage error, an API error (refused, unknown
service, unreachable server) or when --timeout passed first.`,
		Example: `  SHIPGATE_TOKEN=$CI_TOKEN shipgate trigger --server https://shipgate.example.com \
    --project fulltour --service helloservice --image ghcr.io/podtato-head/podtatoserver:v0.1.1 \
    --label version=v0.1.1 --wait --timeout 45m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			c, err := af.client(errOut, "trigger")
			if err != nil {
				return err
			}
			var missing []string
			for _, f := range []struct{ name, value string }{{"--project", project}, {"--service", service}, {"--image", image}} {
				if f.value == "" {
					missing = append(missing, f.name)
				}
			}
			if len(missing) > 0 {
				fmt.Fprintf(errOut, "shipgate trigger: %s required\n", strings.Join(missing, ", "))
				return exitError{exitUsage}
			}
			body := map[string]any{"project": project, "service": service, "image": image}
			if stage != "" {
				body["stage"] = stage
			}
			if sequence != "" {
				body["sequence"] = sequence
			}
			if len(labels) > 0 {
				m := map[string]string{}
				for _, l := range labels {
					k, v, ok := strings.Cut(l, "=")
					if !ok || k == "" {
						fmt.Fprintf(errOut, "shipgate trigger: --label %q is not key=value\n", l)
						return exitError{exitUsage}
					}
					m[k] = v
				}
				body["labels"] = m
			}
			if idempotent == "" {
				idempotent = fmt.Sprintf("shipgate-trigger-%d-%d", time.Now().UnixNano(), os.Getpid())
			}
			ctx := cmd.Context()
			if af.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, af.timeout)
				defer cancel()
			}
			var created struct {
				ID  int64  `json:"id"`
				URL string `json:"url"`
			}
			err = c.do(ctx, http.MethodPost, "/api/v1/deliveries", body, &created, http.Header{"Idempotency-Key": {idempotent}})
			if err != nil {
				fmt.Fprintf(errOut, "shipgate trigger: %v\n", err)
				return exitError{exitUsage}
			}
			fmt.Fprintf(out, "delivery %d: %s\n", created.ID, c.absolute(created.URL))
			if !wait {
				return nil
			}
			d, err := follow(ctx, c, created.ID, interval, errOut)
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					fmt.Fprintf(errOut, "shipgate trigger: delivery %d did not finish within --timeout %s\n", created.ID, af.timeout)
				} else {
					fmt.Fprintf(errOut, "shipgate trigger: following delivery %d: %v\n", created.ID, err)
				}
				return exitError{exitUsage}
			}
			fmt.Fprintf(errOut, "delivery %d %s: %s %s\n", d.ID, d.State, d.Result, firstLine(d.Message))
			if code := d.exitCode(); code != exitOK {
				return exitError{code}
			}
			return nil
		},
	}
	af.register(cmd)
	cmd.Flags().StringVar(&project, "project", "", "the project (required)")
	cmd.Flags().StringVar(&service, "service", "", "the service (required)")
	cmd.Flags().StringVar(&image, "image", "", "the image to deliver, such as ghcr.io/org/app:v1.2.3 (required)")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "a label key=value; repeatable")
	cmd.Flags().StringVar(&stage, "stage", "", "the stage to start in (default: the first)")
	cmd.Flags().StringVar(&sequence, "sequence", "", "the sequence to run (default: delivery)")
	cmd.Flags().StringVar(&idempotent, "idempotency-key", "", "the Idempotency-Key; the same key returns the first delivery (default: one per run)")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the delivery until it ends, and exit with its result")
	cmd.Flags().DurationVar(&af.timeout, "timeout", time.Hour, "give up after this long (0: never)")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "with --wait, how often to ask")
	return cmd
}

// follow polls a delivery until it ends, printing each new progress line to w, and returns it.
func follow(ctx context.Context, c *apiClient, id int64, interval time.Duration, w io.Writer) (*delivery, error) {
	seen := map[string]bool{}
	tick := time.NewTicker(max(interval, 100*time.Millisecond))
	defer tick.Stop()
	failures := 0
	for {
		var d delivery
		err := c.do(ctx, http.MethodGet, "/api/v1/deliveries/"+strconv.FormatInt(id, 10), nil, &d, nil)
		var ae *apiError
		switch {
		case err == nil:
			failures = 0
			for _, line := range append(d.chatLines(c.absolute), d.progress()...) {
				if !seen[line] {
					seen[line] = true
					fmt.Fprintln(w, line)
				}
			}
			if d.terminal() {
				return &d, nil
			}
		case errors.As(err, &ae) && ae.status < 500:
			return nil, err // refused or gone: asking again will not help
		case ctx.Err() != nil:
			return nil, ctx.Err()
		default:
			// A restarting server or a network blip: keep asking, a few times.
			if failures++; failures > 5 {
				return nil, err
			}
			fmt.Fprintf(w, "(retrying: %v)\n", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

func newStatusCmd() *cobra.Command {
	var (
		af     apiFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "status ID --server URL",
		Short: "Show a delivery (GET /api/v1/deliveries/{id})",
		Long: `Status prints a delivery's state and the progress of each stage, or with --output json the API's
whole answer. Exit status: 0 when it was read, 2 on a usage or API error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			id, err := strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64)
			if err != nil || id <= 0 {
				fmt.Fprintf(errOut, "shipgate status: %q is not a delivery id\n", args[0])
				return exitError{exitUsage}
			}
			if output != "text" && output != "json" {
				fmt.Fprintf(errOut, "shipgate status: --output is text or json, not %q\n", output)
				return exitError{exitUsage}
			}
			c, err := af.client(errOut, "status")
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := c.do(cmd.Context(), http.MethodGet, "/api/v1/deliveries/"+strconv.FormatInt(id, 10), nil, &raw, nil); err != nil {
				fmt.Fprintf(errOut, "shipgate status: %v\n", err)
				return exitError{exitUsage}
			}
			if output == "json" {
				_, err := fmt.Fprintln(out, string(raw))
				return err
			}
			var d delivery
			if err := json.Unmarshal(raw, &d); err != nil {
				fmt.Fprintf(errOut, "shipgate status: %v\n", err)
				return exitError{exitUsage}
			}
			fmt.Fprintf(out, "delivery %d: %s %s to %s/%s\n%s", d.ID, d.State, d.Result, d.Project, d.Service, d.Image)
			if d.Message != "" {
				fmt.Fprintf(out, "\n%s", firstLine(d.Message))
			}
			fmt.Fprintln(out)
			for _, line := range d.progress() {
				fmt.Fprintln(out, "  "+line)
			}
			for _, line := range d.chatLines(c.absolute) {
				fmt.Fprintln(out, "  "+line)
			}
			return nil
		},
	}
	af.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
