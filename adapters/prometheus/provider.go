// Package prometheus is shipgate's Prometheus SLI provider: it answers an evaluation's SLIs with the
// semantics of Keptn's prometheus-service, so a Keptn project's sli.yaml and slo.yaml give the same values
// they gave there. Each SLI is one instant query at the end of the evaluation window that must return
// exactly one sample.
package prometheus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/shipgate/shipgate/config"
)

// DefaultConcurrency is how many queries of one evaluation run at once when Config.Concurrency is 0:
// enough that an SLO of a dozen SLIs takes two or three query latencies, few enough that an evaluation
// cannot flood a shared Prometheus.
const DefaultConcurrency = 5

// Keptn's messages for a query that ran but gave no single usable value; the engine shows them as they
// were in Keptn.
const (
	MsgNoValues       = "query did not return any values"
	MsgMultipleValues = "query did return multiple values"
	MsgInvalidValues  = "query did not return valid values"
)

// Config says how to reach Prometheus.
type Config struct {
	// URL is Prometheus' base URL, such as http://prometheus:9090; credentials go in the fields below.
	URL string
	// Timeout bounds each query; 0 means config.DefaultPrometheusTimeout (30s).
	Timeout time.Duration
	// BearerToken, or BasicAuthUser and BasicAuthPassword, authenticate every request.
	BearerToken       config.Secret
	BasicAuthUser     string
	BasicAuthPassword config.Secret
	// CAFile is a PEM bundle to trust instead of the system's certificate authorities.
	CAFile             string
	InsecureSkipVerify bool
	// Concurrency bounds the queries of one GetSLIs call that run at once; 0 means DefaultConcurrency.
	Concurrency int
	// Logger receives a debug line per query and Prometheus' warnings; nil discards them.
	Logger *slog.Logger
}

// FromConfig turns the prometheus section of shipgate.yaml, already validated, into a Config.
func FromConfig(pc *config.PrometheusConfig) (Config, error) {
	if pc == nil {
		return Config{}, errors.New("shipgate.yaml has no prometheus section")
	}
	cfg := Config{URL: pc.URL, Timeout: pc.Timeout, BearerToken: pc.BearerToken}
	if a := pc.BasicAuth; a != nil {
		cfg.BasicAuthUser, cfg.BasicAuthPassword = a.Username, a.Password
	}
	if t := pc.TLS; t != nil {
		cfg.CAFile, cfg.InsecureSkipVerify = t.CAFile, t.InsecureSkipVerify
	}
	return cfg, nil
}

// Value is one SLI's outcome. Success false means there is no value; Message then says why, in Keptn's
// words where Keptn had them.
type Value struct {
	Metric  string
	Value   float64
	Success bool
	Message string
	// Query is the PromQL that ran, placeholders replaced; empty when the SLI has no query.
	Query string
}

// Provider answers SLIs from one Prometheus server. It is safe for concurrent use.
type Provider struct {
	api         v1.API
	url         string // without credentials, for messages
	timeout     time.Duration
	concurrency int
	log         *slog.Logger
}

// New checks cfg and prepares a client; it does not contact Prometheus, so shipgate starts while
// Prometheus is down and evaluations report it instead.
func New(cfg Config) (*Provider, error) {
	base, err := baseTransport(cfg)
	if err != nil {
		return nil, err
	}
	return newProvider(cfg, base)
}

// newProvider is New with the transport under the credentials given, so tests can run the client without
// a network.
func newProvider(cfg Config, base http.RoundTripper) (*Provider, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		// url.Error quotes the whole URL, and a malformed one may still hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("prometheus URL is not a URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus URL %q is not an http(s) URL", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("prometheus URL %q contains credentials; use BearerToken or BasicAuthUser", u.Redacted())
	}
	if cfg.BearerToken.IsSet() && cfg.BasicAuthUser != "" {
		return nil, errors.New("prometheus: set either a bearer token or basic auth, not both")
	}
	if cfg.Timeout < 0 || cfg.Concurrency < 0 {
		return nil, errors.New("prometheus: timeout and concurrency must not be negative")
	}
	client, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: authorize(cfg, base)})
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	p := &Provider{
		api:         v1.NewAPI(client),
		url:         u.Redacted(),
		timeout:     cmp.Or(cfg.Timeout, config.DefaultPrometheusTimeout),
		concurrency: cmp.Or(cfg.Concurrency, DefaultConcurrency),
		log:         cfg.Logger,
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// GetSLIs returns one Value per r.Indicators, in order. Queries run concurrently, at most Concurrency at
// a time, each bounded by Timeout. An SLI that cannot be answered (no query, Prometheus down, no single
// value) has Success false and a message; the error is only for a request that cannot be evaluated at all
// (no window, no project, stage or service) or a ctx that ends before the values are in, so that an
// evaluation cut short by shutdown is not recorded as failed SLIs.
func (p *Provider) GetSLIs(ctx context.Context, r Request) ([]Value, error) {
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("getting SLIs: %w", err)
	}
	values := make([]Value, len(r.Indicators))
	sem := make(chan struct{}, p.concurrency)
	var wg sync.WaitGroup
	for i, name := range r.Indicators {
		values[i].Metric = name
		query, ok := queryFor(name, r)
		if !ok {
			values[i].Message = "no query defined for SLI " + name
			continue
		}
		values[i].Query = query
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				return
			}
			values[i] = p.run(ctx, name, query, r.End)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("getting SLIs for %s/%s/%s: %w", r.Project, r.Stage, r.Service, err)
	}
	return values, nil
}

// check rejects requests that no query could answer meaningfully.
func (r Request) check() error {
	switch {
	case r.Project == "" || r.Stage == "" || r.Service == "":
		return fmt.Errorf("request names no project, stage or service (%q, %q, %q)", r.Project, r.Stage, r.Service)
	case r.End.IsZero():
		return errors.New("evaluation window has no end")
	case !r.End.After(r.Start):
		// A zero or negative window would make $DURATION_SECONDS "0s" or negative, which PromQL rejects.
		return fmt.Errorf("evaluation window ends (%s) before it starts (%s)", r.End.Format(time.RFC3339), r.Start.Format(time.RFC3339))
	}
	return nil
}

// run evaluates one query at end and turns the answer into a Value.
func (p *Provider) run(ctx context.Context, name, query string, end time.Time) Value {
	v := Value{Metric: name, Query: query}
	qctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	began := time.Now()
	result, warnings, _, err := p.api.Query(qctx, query, end)
	log := p.log.With("sli", name, "query", query, "took", time.Since(began))
	if len(warnings) > 0 {
		log.Warn("prometheus warned about an SLI query", "warnings", warnings)
	}
	if err != nil {
		v.Message = p.describe(ctx, qctx, err)
		log.Debug("SLI query failed", "error", v.Message)
		return v
	}
	v.Value, v.Message = single(result)
	v.Success = v.Message == ""
	log.Debug("SLI query answered", "value", v.Value, "message", v.Message)
	return v
}

// single extracts the one value an SLI query must return, or Keptn's message for why there is none.
func single(result model.Value) (float64, string) {
	var f float64
	switch r := result.(type) {
	case model.Vector:
		switch len(r) {
		case 0:
			return 0, MsgNoValues
		case 1:
			f = float64(r[0].Value)
		default:
			return 0, MsgMultipleValues
		}
	case *model.Scalar:
		// Keptn took only vectors, but a scalar (a literal, or scalar(...)) is exactly one value too.
		f = float64(r.Value)
	case nil:
		return 0, MsgNoValues
	default:
		return 0, fmt.Sprintf("%s: the query returned a %s; an SLI query must return an instant vector with one sample, or a scalar", MsgInvalidValues, r.Type())
	}
	switch {
	case math.IsNaN(f):
		return 0, MsgInvalidValues
	case math.IsInf(f, 0):
		// Keptn passed infinities on, and they broke the JSON of its events; no criterion can use one.
		return 0, fmt.Sprintf("%s: %v", MsgInvalidValues, f)
	}
	return f, ""
}

// describe turns a failed query into a message for the person reading the evaluation. It names the server
// (never its credentials) when Prometheus could not be queried.
func (p *Provider) describe(ctx, qctx context.Context, err error) string {
	var apiErr *v1.Error
	var urlErr *url.Error
	switch {
	case ctx.Err() != nil:
		return fmt.Sprintf("query to Prometheus at %s was cancelled", p.url)
	case errors.Is(qctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("query to Prometheus at %s timed out after %s", p.url, p.timeout)
	case errors.As(err, &apiErr):
		if apiErr.Type == v1.ErrBadData {
			return "Prometheus rejected the query: " + apiErr.Msg
		}
		return fmt.Sprintf("Prometheus at %s answered %s: %s", p.url, apiErr.Type, apiErr.Msg)
	case errors.As(err, &urlErr):
		// url.Error repeats the endpoint's URL; the base URL is enough, and the cause is the useful part.
		var opErr *net.OpError
		var dnsErr *net.DNSError
		if errors.As(urlErr.Err, &opErr) || errors.As(urlErr.Err, &dnsErr) {
			return fmt.Sprintf("Prometheus at %s is unreachable: %v", p.url, urlErr.Err)
		}
		return fmt.Sprintf("cannot query Prometheus at %s: %v", p.url, urlErr.Err)
	}
	return fmt.Sprintf("querying Prometheus at %s: %v", p.url, strings.TrimSpace(err.Error()))
}
