package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/adapters/slack/slackfake"
)

// e2eFreezeShipyard deploys to qa, then releases to production, with nothing to measure.
const e2eFreezeShipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks: [{name: deployment}]
    - name: production
      sequences:
        - name: delivery
          triggeredOn: [{event: qa.delivery.finished}]
          tasks: [{name: release}]
`

// TestSlackFreezeEndToEnd: through serve and the Slack fake, a delivery reaches a production that a
// freeze window holds, its card shows ❄️ with the window, a deployer who is not exempt cannot unfreeze
// it, and a freeze-exempt one does, with a reason, after which it is released.
func TestSlackFreezeEndToEnd(t *testing.T) {
	fake := slackfake.New(t)
	fake.AddChannel(e2eChannel)
	fake.AddMembers(e2eChannel, e2eDev, e2eOps)
	e := serveSlack(t, t.TempDir(), fake, map[string]string{
		"projects/fulltour/shipyard.yaml":       e2eFreezeShipyard,
		"projects/fulltour/executors.yaml":      "tasks:\n  deployment: {type: noop}\n  release: {type: noop}\n",
		"projects/fulltour/helloservice/README": "helloservice\n",
	}, fmt.Sprintf(`channels:
  - platform: slack
    channel: %s
    projects: [fulltour]
    roles:
      deployer: [%s, %s]
      freeze-exempt: [%s]
freezes:
  - name: change-freeze
    stages: [production]
    from: 2000-01-01T00:00:00Z
    to: 2100-01-01T00:00:00Z
    message: "Production is closed for the audit."
`, e2eChannel, e2eDev, e2eOps, e2eOps))

	if code, body := e.command(e2eDev, "helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1"); code != http.StatusOK || !strings.Contains(body, "Delivery #1") {
		t.Fatalf("/deliver = %d %s", code, body)
	}
	shows := func(what string) {
		t.Helper()
		fake.WaitFor(t, e2eWait, what, func(calls []slackfake.Call) bool {
			for _, c := range calls {
				if (c.Method == "chat.postMessage" || c.Method == "chat.update") && strings.Contains(blocksText(c.Blocks)+c.Text, what) {
					return true
				}
			}
			return false
		})
	}
	shows("production ❄️ change-freeze until 2100-01-01 00:00 UTC")
	shows("Production is closed for the audit.")

	if code, body := e.command(e2eDev, "freezes"); code != http.StatusOK || !strings.Contains(body, "change-freeze") || !strings.Contains(body, "in force until 2100-01-01 00:00 UTC") {
		t.Errorf("/deliver freezes = %d %s", code, body)
	}
	if code, body := e.command(e2eDev, `unfreeze 1 --reason "hotfix for INC-42"`); code != http.StatusOK || !strings.Contains(body, "you need the role freeze-exempt") {
		t.Errorf("unfreeze by a deployer = %d %s", code, body)
	}
	if code, body := e.command(e2eOps, `unfreeze 1 --reason "hotfix for INC-42"`); code != http.StatusOK || !strings.Contains(body, "unfrozen and started") {
		t.Fatalf("unfreeze by the exempt = %d %s", code, body)
	}
	shows("production · ▶️ unfrozen by " + e2eOps + ": hotfix for INC-42")
	shows("production ✅")
}
