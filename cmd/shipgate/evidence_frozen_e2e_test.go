package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/adapters/prometheus/promtest"
	"github.com/shipgate/shipgate/adapters/slack/slackfake"
	"github.com/shipgate/shipgate/config/configtest"
)

// frozenEvidenceShipyard is e2eShipyard with production evaluating its own deployment after the
// approval, the order in which a decided approval card used to lose the qa evidence it was approved on.
var frozenEvidenceShipyard = configtest.Variant(e2eShipyard,
	"            - name: deployment\n            - name: release\n",
	"            - name: deployment\n            - name: evaluation\n              properties: {timeframe: 1m}\n            - name: release\n")

// The approvers approve on qa's evidence; production then evaluates worse. The approval request in
// Slack, decided and edited afterwards, still says what they were shown: issue 19 §3, through serve,
// the Slack Web API fake and a real Prometheus.
func TestSlackApprovalEvidenceStaysFrozenEndToEnd(t *testing.T) {
	svc := startService(t)
	prom := promtest.Start(t, promtest.Target{Job: "helloservice-fulltour-qa", Addr: svc.addr},
		promtest.Target{Job: "helloservice-fulltour-production", Addr: svc.addr})
	fake := slackfake.New(t)
	fake.AddChannel(e2eChannel)
	fake.AddMembers(e2eChannel, e2eDev, e2eOps)
	e := serveSlack(t, t.TempDir(), fake, map[string]string{
		"projects/fulltour/shipyard.yaml":                    frozenEvidenceShipyard,
		"projects/fulltour/executors.yaml":                   "tasks:\n  deployment: {type: noop}\n  test: {type: noop}\n  release: {type: noop}\n  rollback: {type: noop}\n",
		"projects/fulltour/helloservice/slo.yaml":            e2eSLO,
		"projects/fulltour/helloservice/prometheus/sli.yaml": e2eSLI,
	}, fmt.Sprintf(`prometheus:
  url: %s
channels:
  - platform: slack
    channel: %s
    projects: [fulltour]
    roles:
      deployer: [%s]
      approver: [%s]
`, prom.URL, e2eChannel, e2eDev, e2eOps))
	// measure sets the gauges and waits until both stages' jobs have scraped them.
	measure := func(p95 float64) {
		t.Helper()
		svc.p95.Set(p95)
		svc.errors.Set(0.2)
		prom.WaitFor(t, fmt.Sprintf("count(helloservice_response_time_p95_ms == %g) == 2 and on() count(helloservice_error_rate_percent == 0.2) == 2", p95), e2eWait)
	}

	measure(420)
	if code, body := e.command(e2eDev, "helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1 --label version=v0.1.1"); code != http.StatusOK || !strings.Contains(body, "Delivery #1") {
		t.Fatalf("/deliver = %d %s", code, body)
	}
	rootTS, approvalTS := e.waitApprovalRequest()
	const shown = "qa evaluation ✅ pass, score 100"
	approval, _ := e.fake.Message(e2eChannel, approvalTS)
	if !strings.Contains(blocksText(approval.Blocks), shown) {
		t.Fatalf("the approval request does not show %q:\n%s", shown, blocksText(approval.Blocks))
	}

	// Production will measure 700 ms: a warning, not what qa showed.
	measure(700)
	e.waitAnswer(e.click(e2eChannel, e2eOps, "deliver.approve", approvalTS, rootTS, buttonValue(t, approval.Blocks)), "Your approval counted: 1 of 1")
	e.fake.WaitFor(t, e2eWait, "production's own evaluation in the thread", func(calls []slackfake.Call) bool {
		for _, c := range calls {
			if c.Method == "chat.postMessage" && c.ThreadTS == rootTS && hasBlockType(c.Blocks, "table") && strings.Contains(blocksText(c.Blocks), "700") {
				return true
			}
		}
		return false
	})
	e.fake.WaitFor(t, e2eWait, "the root card to show production passed and the request its decision", func([]slackfake.Call) bool {
		root, _ := e.fake.Message(e2eChannel, rootTS)
		m, _ := e.fake.Message(e2eChannel, approvalTS)
		return strings.Contains(blocksText(root.Blocks), "qa ✅ · production ✅") && strings.Contains(blocksText(m.Blocks), "Approved by")
	})
	// The approval request was edited with the decision, and again as the delivery moved on; every
	// version of it after the approval still shows qa's evidence, never production's evaluation.
	edits := 0
	for _, c := range e.fake.CallsTo("chat.update") {
		if c.Form.Get("ts") != approvalTS && c.TS != approvalTS {
			continue
		}
		edits++
		text := blocksText(c.Blocks)
		if !strings.Contains(text, shown) || strings.Contains(text, "production evaluation") {
			t.Errorf("an edit of the approval request shows other evidence:\n%s", text)
		}
	}
	final, _ := e.fake.Message(e2eChannel, approvalTS)
	text := blocksText(final.Blocks)
	if edits == 0 || !strings.Contains(text, "Approved by <@"+e2eOps+">") || !strings.Contains(text, shown) {
		t.Errorf("after %d edits the approval request says:\n%s", edits, text)
	}
}
