package evidence

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/engine/slo"
)

//go:embed pack.html.tmpl
var packTemplate string

var page = template.Must(template.New("pack").Funcs(template.FuncMap{
	"when":     when,
	"whenPtr":  whenPtr,
	"took":     took,
	"score":    slo.FormatScore,
	"value":    value,
	"number":   func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) },
	"details":  details,
	"join":     strings.Join,
	"labelSet": func(m map[string]string) bool { return len(m) > 0 },
}).Parse(packTemplate))

// htmlPage is what the template reads: the pack, and the SHA-256 of its JSON form.
type htmlPage struct {
	*Pack
	SHA256 string
}

// HTML renders p as one self-contained page: styles inline, no scripts, fonts, images or links to load,
// laid out to print (tables are not split across pages). It shows sha256, the SHA-256 of p's JSON form
// (Encode), which is what a copy is checked against; the page itself is for people to read.
func HTML(p *Pack, sha256 string) ([]byte, error) {
	var buf bytes.Buffer
	if err := page.Execute(&buf, htmlPage{Pack: p, SHA256: sha256}); err != nil {
		return nil, fmt.Errorf("render evidence of delivery %d: %w", p.Delivery.ID, err)
	}
	return buf.Bytes(), nil
}

// when writes a time as the page shows it: UTC to the second, with milliseconds when it has them.
func when(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() != 0 {
		return t.Format("2006-01-02 15:04:05.000 UTC")
	}
	return t.Format("2006-01-02 15:04:05 UTC")
}

func whenPtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return when(*t)
}

// took is the time from start to end, "—" while either is missing.
func took(start, end *time.Time) string {
	if start == nil || end == nil {
		return "—"
	}
	d := end.Sub(*start)
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func value(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// details writes an audit entry's details on one line.
func details(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}
