package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/adapters/helm/kubetest"
	"github.com/shipgate/shipgate/adapters/slack/slackfake"
	"github.com/shipgate/shipgate/config/configtest"
)

// diffShipyard gates production's helm deployment on an approval.
const diffShipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
metadata: {name: shipyard}
spec:
  stages:
    - name: production
      sequences:
        - name: delivery
          tasks:
            - name: approval
              properties: {pass: manual, warning: manual}
            - name: deployment
`

// What changes, shown before anyone approves, through serve with the helm executor against a real API
// server: the first delivery's approval shows the install; once it is approved and deployed, the next
// delivery's approval card names what changes, its thread carries the diff with the secret masked, and
// the API returns the same.
func TestDiffEndToEnd(t *testing.T) {
	kube := kubetest.Shared(t)
	fake := slackfake.New(t)
	fake.AddChannel(e2eChannel)
	dir := t.TempDir()
	const approverToken = "e2e-approver-token-0123456789"
	configtest.CopyDir(t, filepath.Join("..", "..", "adapters", "helm", "testdata", "configured"), filepath.Join(dir, "projects", "difftour", "helloservice", "helm", "helloservice"))
	e := serveSlack(t, dir, fake, map[string]string{
		"projects/difftour/shipyard.yaml":  diffShipyard,
		"projects/difftour/executors.yaml": "tasks:\n  deployment: {type: helm}\n",
	}, fmt.Sprintf(`helm:
  kubeconfig: %s
  cache_dir: %s
channels:
  - platform: slack
    channel: %s
    projects: [difftour]
    roles:
      deployer: [%s]
      approver: [%s]
api:
  tokens:
    - {name: ci, token: %s, projects: [difftour]}
    - {name: ops, token: %s, projects: [difftour], actor: %s}
`, kube.Kubeconfig, filepath.Join(dir, "helm-cache"), e2eChannel, e2eDev, e2eOps, e2eToken, approverToken, e2eOps))

	type diffAnswer struct {
		Approval int64  `json:"approval"`
		Short    string `json:"short"`
		Diff     string `json:"diff"`
		Summary  struct {
			Image, Chart struct{ Old, New string }
		} `json:"summary"`
	}
	waitDiff := func(id int) diffAnswer {
		t.Helper()
		var d diffAnswer
		fake.WaitFor(t, e2eWait, fmt.Sprintf("the diff of delivery %d", id), func([]slackfake.Call) bool {
			code, body := e.api(e2eToken, "GET", fmt.Sprintf("/api/v1/deliveries/%d/diff?stage=production", id), nil)
			return code == http.StatusOK && json.Unmarshal([]byte(body), &d) == nil
		})
		return d
	}
	const v1, v2 = "ghcr.io/podtato-head/podtatoserver:v0.1.1", "ghcr.io/podtato-head/podtatoserver:v0.1.2"
	trigger := func(image string, values map[string]any) int {
		t.Helper()
		code, body := e.api(e2eToken, "POST", "/api/v1/deliveries", map[string]any{"project": "difftour", "service": "helloservice", "image": image, "values": values})
		var tr struct{ ID int }
		if code != http.StatusAccepted || json.Unmarshal([]byte(body), &tr) != nil {
			t.Fatalf("trigger: %d %s", code, body)
		}
		return tr.ID
	}

	first := trigger(v1, nil)
	d := waitDiff(first)
	if d.Summary.Image.Old != "" || d.Summary.Image.New != v1 || !strings.HasPrefix(d.Short, "4 objects change:") || !strings.Contains(d.Diff, "+++ b/Deployment/helloservice") {
		t.Fatalf("first delivery's changes: %+v", d)
	}
	if code, body := e.api(approverToken, "POST", fmt.Sprintf("/api/v1/approvals/%d", d.Approval), map[string]any{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, body)
	}
	fake.WaitFor(t, e2eWait, "the first delivery deployed", func([]slackfake.Call) bool {
		code, body := e.api(e2eToken, "GET", fmt.Sprintf("/api/v1/deliveries/%d", first), nil)
		return code == http.StatusOK && strings.Contains(body, `"state":"finished"`)
	})

	second := trigger(v2, map[string]any{"config": map[string]any{"greeting": "hej", "color": "red"}, "secret": map[string]any{"password": "s3cr3t-two"}})
	d = waitDiff(second)
	const short = "3 objects change: Secret/helloservice-secret 1 key, ConfigMap/helloservice-config 2 keys, Deployment/helloservice image"
	if d.Summary.Image.Old != v1 || d.Summary.Image.New != v2 || d.Short != short {
		t.Fatalf("second delivery's changes: %+v", d)
	}
	for _, secret := range []string{"s3cr3t-one", "s3cr3t-two", "czNjcjN0LW9uZQ==", "czNjcjN0LXR3bw=="} {
		if strings.Contains(d.Diff, secret) {
			t.Fatalf("the diff shows a secret value:\n%s", d.Diff)
		}
	}
	// The approval card names the changes, and the thread has the diff as a code block.
	var card, reply bool
	fake.WaitFor(t, e2eWait, "the card's changes and the diff in the thread", func([]slackfake.Call) bool {
		card, reply = false, false
		for _, m := range fake.Messages(e2eChannel) {
			text := blocksText(m.Blocks)
			card = card || strings.Contains(text, "Approval: helloservice") && strings.Contains(text, short) && strings.Contains(text, v2)
			reply = reply || strings.Contains(text, "production · what changes") && strings.Contains(text, "```") && strings.Contains(text, "+  password: (masked, changed)")
		}
		return card && reply
	})
	for _, m := range fake.Messages(e2eChannel) {
		for _, secret := range []string{"s3cr3t-one", "s3cr3t-two"} {
			if strings.Contains(string(m.Blocks), secret) || strings.Contains(m.Text, secret) {
				t.Fatalf("a message shows a secret value: %s", m.Blocks)
			}
		}
	}

	// A diff too long for a message goes into the thread as a file (files.uploadV2).
	greeting := strings.Repeat("hello, world; ", 600)
	third := trigger(v2, map[string]any{"config": map[string]any{"greeting": greeting}})
	waitDiff(third)
	var file slackfake.File
	fake.WaitFor(t, e2eWait, "the diff uploaded as a file", func([]slackfake.Call) bool {
		for _, f := range fake.Files(e2eChannel) {
			// The canonical YAML folds the long value over lines.
			if strings.Count(string(f.Content), "hello, world;") >= 600 {
				file = f
				return true
			}
		}
		return false
	})
	if file.Name != fmt.Sprintf("delivery-%d-production.diff", third) || file.ThreadTS == "" || file.SnippetType != "diff" {
		t.Fatalf("file %s in thread %q (%s)", file.Name, file.ThreadTS, file.SnippetType)
	}
	// What was sent, the upload's two Web API calls included, satisfies Slack's published types.
	checkContract(t, fake.ContractPayloads(), []string{"chat.postMessage", "chat.update", "files.getUploadURLExternal", "files.completeUploadExternal"})
}
