package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// tutorialImage is the tutorial's first build, which passes qa: what the hints of shipgate demo and
// serve --dev deliver.
const tutorialImage = "ghcr.io/podtato-head/podtatoserver:v0.1.1"

// ensureTokenFile writes a new random token into path unless the file exists, and reports whether it
// did. A token that shipgate makes for trying it out on one machine is kept in a file rather than
// printed only, so that a restart keeps it and the scripts that use it keep working.
func ensureTokenFile(path string) (created bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, err
	}
	// O_EXCL: two processes starting at once must not each write a token and use different ones.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.WriteString(rand.Text() + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// An empty or cut token file would be taken as the token at the next start.
		_ = os.Remove(path)
		return false, fmt.Errorf("writing token file %s: %w", path, err)
	}
	return true, nil
}

// readTokenFile reads a token as config reads a *_file secret: without the trailing newline.
func readTokenFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	token := strings.TrimRight(string(data), "\r\n")
	if token == "" {
		return "", fmt.Errorf("token file %s is empty; delete it, and a new token is made at the next start", path)
	}
	return token, nil
}

// deliveryRequest is the body of POST /api/v1/deliveries that a hint's curl command sends.
type deliveryRequest struct {
	Project string `json:"project"`
	Service string `json:"service"`
	Image   string `json:"image"`
}

// curlDelivery is a curl command that starts a delivery through the API, quoted for a POSIX shell so
// that it works when pasted as printed.
func curlDelivery(baseURL, token string, req deliveryRequest) string {
	body, _ := json.Marshal(req) // three strings always marshal
	return strings.Join([]string{"curl", "-X", "POST",
		"-H", shellQuote("Authorization: Bearer " + token),
		"-H", shellQuote("Content-Type: application/json"),
		"-d", shellQuote(string(body)),
		shellQuote(baseURL + "/api/v1/deliveries")}, " ")
}

// shellSafe are words a POSIX shell takes as they are: no quoting, globbing or expansion applies.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9@%_+=:,./-]+$`)

// shellQuote makes s one word for a POSIX shell: single quotes keep everything literal, and a single
// quote inside is closed, escaped and reopened.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printCIHint tells how CI starts a delivery on this shipgate: a curl command to paste, and the
// variables that shipgate trigger and the README's CI commands read. file is where the token is kept,
// if it is kept in one.
func printCIHint(w io.Writer, baseURL, name, token, file string, req deliveryRequest) {
	kept := ""
	if file != "" {
		kept = ", kept in " + file
	}
	fmt.Fprintf(w, `  CI starts a delivery with the API token %s%s:
    %s
  or with shipgate trigger and the README's other CI commands (see "CI integration") after
    export SHIPGATE_SERVER=%s SHIPGATE_TOKEN=%s
`, name, kept, curlDelivery(baseURL, token, req), shellQuote(baseURL), shellQuote(token))
}
