package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/adapters/slack/slackfake"
)

// Through `shipgate serve` and the Slack fake: a delivery started with /deliver, refused clicks by an
// outsider and by the requester, an approver's click; then its evidence pack from the API holds all of
// it, and `shipgate audit evidence --verify` confirms the downloaded copy against the database, and a
// copy the command writes is the API's, byte for byte.
func TestEvidencePackEndToEnd(t *testing.T) {
	e := startE2E(t)
	e.measure(420, 0.2)
	if code, body := e.command(e2eDev, "helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1 --label version=v0.1.1"); code != http.StatusOK || !strings.Contains(body, "Delivery #1") {
		t.Fatalf("/deliver = %d %s", code, body)
	}
	rootTS, approvalTS := e.waitApprovalRequest()
	approval, _ := e.fake.Message(e2eChannel, approvalTS)
	value := buttonValue(t, approval.Blocks)
	for _, tt := range []struct{ user, want string }{{e2eOut, "You need the role approver"}, {e2eDev, "You triggered this delivery"}} {
		e.waitAnswer(e.click(e2eChannel, tt.user, "deliver.approve", approvalTS, rootTS, value), tt.want)
	}
	e.waitAnswer(e.click(e2eChannel, e2eOps, "deliver.approve", approvalTS, rootTS, value), "Your approval counted")
	e.fake.WaitFor(t, e2eWait, "the root card to show production passed", func([]slackfake.Call) bool {
		root, _ := e.fake.Message(e2eChannel, rootTS)
		return strings.Contains(blocksText(root.Blocks), "qa ✅ · production ✅")
	})

	req, err := http.NewRequest("GET", e.base+"/api/v1/deliveries/1/evidence", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	sum := sha256.Sum256(body)
	if res.StatusCode != http.StatusOK || res.Header.Get("X-Shipgate-Evidence-SHA256") != hex.EncodeToString(sum[:]) {
		t.Fatalf("evidence: %d, header %q, body %.300s", res.StatusCode, res.Header.Get("X-Shipgate-Evidence-SHA256"), body)
	}
	var pack struct {
		Complete bool `json:"complete"`
		Trigger  struct {
			Actor, Source, Channel string
			Labels                 map[string]string
		} `json:"trigger"`
		Stages []struct {
			Name        string `json:"name"`
			Evaluations []struct {
				Score      float64 `json:"score"`
				Objectives []struct {
					SLI   string   `json:"sli"`
					Value *float64 `json:"value"`
				} `json:"objectives"`
			} `json:"evaluations"`
			Approvals []struct {
				Votes []struct {
					Voter, Platform, Decision string
				} `json:"votes"`
				RefusedVotes []struct {
					Actor, Reason string
				} `json:"refusedVotes"`
				Decision *struct{ How string } `json:"decision"`
			} `json:"approvals"`
		} `json:"stages"`
	}
	if err := json.Unmarshal(body, &pack); err != nil {
		t.Fatal(err)
	}
	if !pack.Complete || pack.Trigger.Actor != e2eDev || pack.Trigger.Source != "slack" || pack.Trigger.Channel != e2eChannel || pack.Trigger.Labels["version"] != "v0.1.1" {
		t.Errorf("trigger %+v, complete %v", pack.Trigger, pack.Complete)
	}
	if len(pack.Stages) != 2 || len(pack.Stages[0].Evaluations) != 1 || len(pack.Stages[1].Approvals) != 1 {
		t.Fatalf("stages %+v", pack.Stages)
	}
	if v := pack.Stages[0].Evaluations[0].Objectives[0].Value; v == nil || *v != 420 {
		t.Errorf("qa's score table does not hold the measured 420 ms: %+v", pack.Stages[0].Evaluations[0])
	}
	a := pack.Stages[1].Approvals[0]
	if len(a.Votes) != 1 || a.Votes[0].Voter != e2eOps || a.Votes[0].Platform != "slack" || a.Decision == nil || a.Decision.How != "votes" {
		t.Errorf("approval %+v", a)
	}
	var refused []string
	for _, r := range a.RefusedVotes {
		refused = append(refused, r.Actor)
	}
	if strings.Join(refused, " ") != e2eOut+" "+e2eDev {
		t.Errorf("refused votes by %v, want the outsider's and the requester's", refused)
	}
	e.stop()

	// The database, once serve has stopped, confirms the downloaded copy; the command writes the same.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "shipgate.yaml")
	copyPath := filepath.Join(dir, "change-1.json")
	if err := os.WriteFile(cfg, []byte("database: "+e.db+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyPath, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "audit", "evidence", "1", "--config", cfg, "--verify", copyPath); code != exitOK {
		t.Errorf("--verify of the API's copy: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "audit", "evidence", "1", "--config", cfg)
	if code != exitOK || out != string(body) || !strings.Contains(errOut, hex.EncodeToString(sum[:])) {
		t.Errorf("audit evidence: exit %d, same bytes as the API: %v, stderr %s", code, out == string(body), errOut)
	}
}
