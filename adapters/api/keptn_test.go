package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// keptnTriggerEvent is what `keptn trigger delivery --project fulltour --service helloservice --image
// ghcr.io/podtato-head/podtatoserver:v0.1.2 --labels buildId=42 --values replicaCount=2` sent.
const keptnTriggerEvent = `{
  "data": {
    "configurationChange": {
      "values": {"image": "ghcr.io/podtato-head/podtatoserver:v0.1.2", "replicaCount": 2}
    },
    "labels": {"buildId": "42"},
    "project": "fulltour",
    "service": "helloservice",
    "stage": "qa"
  },
  "datacontenttype": "application/json",
  "id": "4b1e2b8c-6c0d-4a51-9b8e-2f8f4a1c0d11",
  "shkeptnspecversion": "0.2.4",
  "source": "https://github.com/keptn/keptn/cli#configuration-change",
  "specversion": "1.0",
  "time": "2024-03-01T10:20:30.000Z",
  "type": "sh.keptn.event.qa.delivery.triggered"
}`

// Keptn's clients send a sequence's .triggered event with x-token and get Keptn's answer: the context.
func TestKeptnEvent(t *testing.T) {
	f := newFixture(t)
	r := f.do("POST", "/api/v1/event", []byte(keptnTriggerEvent), "x-token", secret(tokCI), "Content-Type", "application/cloudevents+json")
	var answer map[string]string
	r.decode(t, &answer)
	if r.status != http.StatusOK || len(answer) != 1 {
		t.Fatalf("event: %d %s; want 200 {\"keptnContext\": ...}", r.status, r.body)
	}
	if _, err := uuid.Parse(answer["keptnContext"]); err != nil {
		t.Fatalf("keptnContext %q: %v", answer["keptnContext"], err)
	}
	d, err := f.st.GetDeliveryByContext(t.Context(), answer["keptnContext"])
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	_ = json.Unmarshal(d.Values, &values)
	if d.Project != "fulltour" || d.Service != "helloservice" || d.Stage != "qa" || d.Sequence != "delivery" ||
		d.Image != "ghcr.io/podtato-head/podtatoserver:v0.1.2" || d.Labels["buildId"] != "42" || values["replicaCount"] != float64(2) ||
		values["image"] != nil || d.Actor != tokCI || d.Source != "api" {
		t.Errorf("delivery %+v values %v", d, values)
	}
	f.waitForApproval(d.ID)

	// A redelivered event starts nothing new.
	r = f.do("POST", "/api/v1/event", []byte(keptnTriggerEvent), "x-token", secret(tokCI))
	var again map[string]string
	r.decode(t, &again)
	if r.status != http.StatusOK || again["keptnContext"] != answer["keptnContext"] || r.header.Get(ReplayedHeader) != "true" {
		t.Errorf("redelivered event: %d %s", r.status, r.body)
	}

	event := func(typ, data string) string {
		return `{"specversion": "1.0", "id": "` + uuid.NewString() + `", "source": "ci", "type": "` + typ + `", "data": ` + data + `}`
	}
	const data = `{"project": "fulltour", "service": "helloservice", "configurationChange": {"values": {"image": "ghcr.io/x/y:1"}}}`
	for _, tt := range []struct {
		name    string
		body    string
		headers []string
		status  int
		want    string
	}{
		{"no token", keptnTriggerEvent, []string{}, 401, "unauthorized"},
		{"wrong token", keptnTriggerEvent, []string{"x-token", "nope"}, 401, "unauthorized"},
		{"a task event", event("sh.keptn.event.deployment.triggered", data), nil, 400,
			`type "sh.keptn.event.deployment.triggered" is not a sequence event; expected sh.keptn.event.STAGE.SEQUENCE.triggered`},
		{"a finished event", event("sh.keptn.event.qa.delivery.finished", data), nil, 400, "is a .finished event; shipgate runs the tasks itself"},
		{"not Keptn's", event("com.example.build", data), nil, 400, `type "com.example.build" is not a Keptn event`},
		{"unknown stage", event("sh.keptn.event.staging.delivery.triggered", data), nil, 400, `project fulltour has no stage "staging"; stages: qa, production`},
		{"unknown sequence", event("sh.keptn.event.qa.canary.triggered", data), nil, 400, `stage qa has no sequence "canary"; sequences: delivery`},
		{"stage differs from the type's", event("sh.keptn.event.production.delivery.triggered", strings.Replace(data, `{"project"`, `{"stage": "qa", "project"`, 1)), nil, 400,
			`data.stage "qa" is not the stage "production"`},
		{"no service", event("sh.keptn.event.qa.delivery.triggered", `{"project": "fulltour"}`), nil, 400, "data.service is required; services of fulltour: helloservice, orders"},
		{"no image", event("sh.keptn.event.qa.delivery.triggered", `{"project": "fulltour", "service": "helloservice"}`), nil, 400, "an image is required"},
		{"another project", event("sh.keptn.event.qa.delivery.triggered", strings.Replace(data, "fulltour", "shop", 1)), nil, 403, "forbidden"},
		{"not JSON", "{", nil, 400, "not valid JSON"},
	} {
		headers := tt.headers
		if headers == nil {
			headers = []string{"x-token", secret(tokCI)}
		}
		r := f.do("POST", "/api/v1/event", []byte(tt.body), headers...)
		var e keptnError
		r.decode(t, &e)
		if r.status != tt.status || e.Code != tt.status || !strings.Contains(e.Message, tt.want) || e.Error != e.Message {
			t.Errorf("%s: %d %s, want %d and %q in Keptn's error shape", tt.name, r.status, r.body, tt.status, tt.want)
		}
	}
	// The Keptn route takes bearer tokens too.
	if r := f.as(tokCI, "POST", "/api/v1/event", event("sh.keptn.event.qa.delivery.triggered", data)); r.status != http.StatusOK {
		t.Errorf("bearer token on the Keptn route: %d %s", r.status, r.body)
	}
}

func FuzzSequenceTrigger(f *testing.F) {
	for _, s := range []string{"sh.keptn.event.qa.delivery.triggered", "sh.keptn.event.deployment.triggered", "sh.keptn.event..x.triggered", "", "sh.keptn.event.a.b.c.triggered"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typ string) {
		stage, sequence, msg := sequenceTrigger(typ)
		if msg == "" && (stage == "" || sequence == "" || typ != keptnEventPrefix+stage+"."+sequence+keptnTriggered) {
			t.Errorf("%q read as stage %q, sequence %q", typ, stage, sequence)
		}
		if msg != "" && (stage != "" || sequence != "") {
			t.Errorf("%q refused (%s) but read as %q/%q", typ, msg, stage, sequence)
		}
	})
}
