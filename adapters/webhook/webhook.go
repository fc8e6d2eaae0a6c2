// Package webhook is the executor that carries out a task by calling an HTTP endpoint: starting a CI
// job, notifying a deployment tool, asking a test service to run. executors.yaml maps a task to it with
// `type: webhook` and describes the call under `with:`:
//
//	tasks:
//	  test:
//	    type: webhook
//	    with:
//	      url: "https://ci.example/job/{{.Service}}/build?tag={{.Tag | urlquery}}"
//	      method: POST
//	      headers: {Authorization: "Bearer {{secret \"ci_token\"}}"}
//	      body: '{"image": {{json .Image}}, "stage": "{{.Stage}}"}'
//	      secrets:
//	        ci_token: {env: CI_TOKEN}        # or {file: /run/secrets/ci-token}
//	      expect_status: [200, 201, 202]   # default: any 2xx
//	      poll:                            # optional: wait for the job the call started
//	        url: "{{.Response.statusUrl}}"
//	        status_field: status
//	        pass: [succeeded]
//	        fail: [failed, error]
//
// # Templates
//
// The URL, header values, body and poll URL and headers are Go templates over engine.TemplateData
// ({{.Project}}, {{.Labels.version}}, {{.Data.deployment.deploymentNames}}), with two functions besides
// text/template's own (urlquery among them): secret "name" inserts a configured secret, and json writes
// a value as JSON, so {{json .Image}} is a correctly quoted and escaped string. A missing key is an
// error naming the setting, not an empty string. The poll templates also see .Response, the first
// call's answer decoded from JSON; its fields also appear under .Data.<task>, next to statusCode,
// attempts, url and response, so {{.Data.test.statusUrl}} and {{.Response.statusUrl}} are the same.
// A relative poll URL is resolved against the call's URL.
//
// # Secrets
//
// Secrets are read from an environment variable or a file (one trailing newline dropped) when a
// template first asks for them. Their values never leave the executor: every message, result datum,
// error and log line is cleaned of each secret the task used, in plain, URL- and JSON-encoded form,
// because servers echo tokens back in error pages and JSON bodies.
//
// # Retries and outcome
//
// Each attempt is bounded by `timeout`. 5xx, 408, 429 and failures to get an answer at all are retried
// `retries` times with exponential backoff, honouring Retry-After on 429 and 503; other 4xx answers are
// final. The task's context (its deadline, an abort) bounds the whole call, waits included. An expected
// status passes the task (or starts polling); any other final answer fails it with status succeeded,
// since the endpoint did answer; no answer at all fails it with status errored. Answers are read up to
// max_response bytes, and an unexpected one is quoted (its first 200 characters) in the message for
// chat. The result's data, under the task's name, holds statusCode, attempts, the URL, and the
// response when it is a JSON object (unless result_data: false); later tasks read it as .Data.<task>.
//
// # Polling
//
// With `poll`, the executor asks the poll URL every interval after a successful call, reads the dotted
// status_field from its JSON answer, and passes, fails or warns when the value is in the pass, fail or
// warning list (ignoring case). Any other value, or no value, means the job is still running. Polls are
// retried like the call; the task's deadline ends polling with status errored.
package webhook

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/shipgate/shipgate/engine"
)

// Executor calls HTTP endpoints for tasks. The zero value is ready to use.
type Executor struct {
	// Client sends the requests; nil means a client with connect, TLS handshake and idle timeouts.
	// Redirects are followed as net/http does, which drops Authorization on a redirect to another host.
	Client *http.Client
	// Logger receives a line per retry and failure, redacted; nil discards them.
	Logger *slog.Logger
	// LookupEnv reads environment variables for secrets; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile reads secret files; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

var (
	_ engine.Executor      = (*Executor)(nil)
	_ engine.Idempotent    = (*Executor)(nil)
	_ engine.ConfigChecker = (*Executor)(nil)
)

// defaultClient bounds the parts of a call that the per-attempt timeout would otherwise leave to the OS,
// so a black-holed host fails an attempt with a clear error instead of using up the whole attempt.
var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	ForceAttemptHTTP2:     true,
	TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	TLSHandshakeTimeout:   10 * time.Second,
	ExpectContinueTimeout: time.Second,
	MaxIdleConns:          16,
	IdleConnTimeout:       90 * time.Second,
}}

// userAgent is sent unless the settings set a User-Agent header, so endpoint logs show who called.
const userAgent = "shipgate-webhook"

// CheckConfig validates a task's settings: required settings, methods, header names, status codes,
// durations, secret sources, and that every template parses and names only configured secrets. A
// URL without template actions must also be an http or https URL with a host.
func (e *Executor) CheckConfig(_ string, cfg map[string]any) error {
	_, err := parseSettings(cfg, checkFuncs)
	return err
}

// Idempotent reports whether a task may run again after a restart interrupted it: only when its method
// is idempotent in HTTP's sense (GET, HEAD, OPTIONS, PUT, DELETE) and it does not poll. A poll setting
// says the call starts a job, whatever its method, and starting a second deployment or test run is
// not safe; neither is a POST. Settings that do not decode are not idempotent.
func (e *Executor) Idempotent(_ string, cfg map[string]any) bool {
	raw, err := decodeSettings(cfg)
	if err != nil || raw.Poll != nil {
		return false
	}
	method := strings.ToUpper(raw.Method)
	if method == "" {
		method = DefaultMethod
	}
	return slices.Contains([]string{http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete}, method)
}

// Execute makes the task's call, with retries, and polls the job it started when the settings ask to.
// Invalid settings and a request that does not render are errors, as nothing was sent; everything the
// endpoint does, or fails to do, is a Result, and so is a poll request that does not render from the
// first answer.
func (e *Executor) Execute(ctx context.Context, t engine.Task) (engine.Result, error) {
	red := &redactor{}
	r := &renderer{lookupEnv: e.LookupEnv, readFile: e.ReadFile, redact: red}
	if r.lookupEnv == nil {
		r.lookupEnv = os.LookupEnv
	}
	if r.readFile == nil {
		r.readFile = os.ReadFile
	}
	s, err := parseSettings(t.Config, r.funcs())
	if err != nil {
		return engine.Result{}, fmt.Errorf("webhook settings: %w", err)
	}
	r.sources = s.secrets

	data := t.TemplateData()
	req, err := r.request(s.method, s.url, s.headers, s.body, data, nil)
	if err != nil {
		return engine.Result{}, fmt.Errorf("rendering the webhook request: %w", err)
	}
	c := &caller{client: e.client(), log: e.logger().With("task", t.Name, "task_run", t.RunID), redact: red, s: s}
	o := c.call(ctx, req, s.expected)
	rep := newReport(t.Name, s, red, req, o)
	if s.poll == nil || o.stopped != nil || o.resp == nil || !s.expected(o.resp.code) {
		return c.finish(rep.result()), nil
	}

	pd := pollData{TemplateData: data, Response: decodeJSON(o.resp)}
	pd.Data = pollTaskData(data.Data, t.Name, rep.data, pd.Response)
	headers := s.poll.headers
	if headers == nil {
		headers = s.headers
	}
	preq, err := r.request(s.poll.method, s.poll.url, headers, nil, pd, req.url)
	if err != nil {
		// The job has started, so this is a result that says so, not a bare error. The renderer's errors
		// are redacted.
		return c.finish(rep.pollNotRendered(err).result()), nil
	}
	return c.finish(rep.withPoll(preq, c.poll(ctx, s.poll, preq)).result()), nil
}

// finish logs how the task ended and returns res.
func (c *caller) finish(res engine.Result) engine.Result {
	c.log.Info("webhook task finished", "result", res.Result, "status", res.Status, "message", res.Message)
	return res
}

func (e *Executor) client() *http.Client {
	if e.Client != nil {
		return e.Client
	}
	return defaultClient
}

func (e *Executor) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}
