package prometheus

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/api"
)

// baseTransport is client_golang's default transport with the configured trust: the CA bundle in place
// of the system's, or no verification at all.
func baseTransport(cfg Config) (http.RoundTripper, error) {
	def, ok := api.DefaultRoundTripper.(*http.Transport)
	if !ok {
		return nil, errors.New("client_golang's default round tripper is not an *http.Transport")
	}
	t := def.Clone()
	if cfg.CAFile == "" && !cfg.InsecureSkipVerify {
		return t, nil
	}
	// InsecureSkipVerify is the user's explicit choice (tls.insecure_skip_verify), which validation warns about.
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the Prometheus CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading the Prometheus CA file: %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	t.TLSClientConfig = tc
	return t, nil
}

// authorize wraps next so that every request carries the configured credentials. It returns next
// unchanged when there are none.
func authorize(cfg Config, next http.RoundTripper) http.RoundTripper {
	switch {
	case cfg.BearerToken.IsSet():
		return &authRoundTripper{value: "Bearer " + cfg.BearerToken.Reveal(), next: next}
	case cfg.BasicAuthUser != "":
		creds := cfg.BasicAuthUser + ":" + cfg.BasicAuthPassword.Reveal()
		return &authRoundTripper{value: "Basic " + base64.StdEncoding.EncodeToString([]byte(creds)), next: next}
	}
	return next
}

// authRoundTripper sets the Authorization header. The value lives only here and on the wire, never in a
// URL, so error messages that quote the request URL cannot leak it.
type authRoundTripper struct {
	value string
	next  http.RoundTripper
}

func (a *authRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not modify the caller's request.
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", a.value)
	return a.next.RoundTrip(req)
}
