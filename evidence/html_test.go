package evidence_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/evidence"
	"github.com/shipgate/shipgate/store"
)

// external matches anything that would make a browser load something: a link, a source, a stylesheet
// import, a url() in the CSS, a script.
var external = regexp.MustCompile(`(?i)\b(?:src|href|action|srcset)\s*=|@import|url\(|<script|<link|<iframe|<object|<embed`)

func TestHTMLOfReleasedDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _, _, _ := released(t)
		doc, err := evidence.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		page, err := evidence.HTML(p, doc.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		html := string(page)
		for _, want := range []string{
			`<p class="hash" id="sha256">` + doc.SHA256 + `</p>`,
			`<meta name="shipgate-evidence-sha256" content="` + doc.SHA256 + `">`,
			"@media print", "break-inside: avoid",
			"Label ci.run</th><td>https://ci.example.test/runs/1842",
			"Evaluation #1: <span class=\"pass\">pass</span>, score 100",
			"Response time P95",
			"qa &lt;green&gt;, change ticket CHG-1042", // escaped, not markup
			"Votes refused", "Reminders and escalations", "hotfix for INC-77",
			"No rollback ran for this delivery.",
		} {
			if !strings.Contains(html, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		if m := external.FindString(html); m != "" {
			t.Errorf("the page would load something: %q", m)
		}
		golden(t, "released.html", page)
	})
}

// What the approval ladder, frozen evidence and diffs record shows up in the page once a pack carries
// it; the pack leaves each out when it is not recorded.
func TestHTMLShowsEvidenceAndChanges(t *testing.T) {
	at := time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC)
	score := 97.5
	p := &evidence.Pack{Format: evidence.Format, Delivery: evidence.Delivery{ID: 7, Project: "fulltour", Service: "helloservice"},
		Stages: []evidence.Stage{{Name: "production", Approvals: []evidence.Approval{{ID: 3, State: store.ApprovalPending, RequestedAt: at,
			Required: 1, EligibleRoles: []string{"release-managers"},
			Evidence: &evidence.ApprovalEvidence{Stage: "qa", EvaluationID: 5, Result: store.ResultWarning, Score: &score,
				FailedObjectives: []string{"response_time_p95"}, RunningVersion: "v0.1.0"},
			Changes: &evidence.Changes{Summary: "1 object changes", Items: []evidence.Change{{What: "image", From: "v0.1.0", To: "v0.1.1"}},
				Diff: "-image: v0.1.0\n+image: v0.1.1\n"},
			Overrides: []evidence.Override{{Kind: evidence.HowTimeout, At: at, Reason: "approved automatically"}}}}}}}
	page, err := evidence.HTML(p, strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Evidence shown to the approvers", "score 97.5", "response_time_p95", "Running in the stage</th><td>v0.1.0",
		"What would change", "<td>image</td><td>v0.1.0</td><td>v0.1.1</td>", "<pre>-image: v0.1.0\n&#43;image: v0.1.1\n</pre>",
		"Overrides", "approved automatically", "<th>Decision</th><td>pending</td>"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
