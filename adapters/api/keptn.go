package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/truncate"
)

// Keptn's API took events at POST /v1/event under its endpoint, which ended in /api; with shipgate's
// URL + /api as the endpoint (keptn auth --endpoint https://shipgate.example.org/api), Keptn's clients
// reach this route. Only a sequence's .triggered event starts anything here, as shipgate runs the tasks
// itself; the event's id is its idempotency key, so a redelivered event starts nothing new.

// cloudEvent is the envelope of a Keptn event. Extensions such as shkeptncontext are accepted and
// ignored: a delivery gets a context of its own.
type cloudEvent struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Source      string          `json:"source"`
	SpecVersion string          `json:"specversion"`
	Data        json.RawMessage `json:"data"`
}

// keptnTrigger is the data of sh.keptn.event.STAGE.SEQUENCE.triggered, as `keptn trigger delivery` sent
// it: the image in configurationChange.values.image, with any other values beside it.
type keptnTrigger struct {
	Project             string            `json:"project"`
	Stage               string            `json:"stage"`
	Service             string            `json:"service"`
	Labels              map[string]string `json:"labels"`
	ConfigurationChange struct {
		Values map[string]any `json:"values"`
	} `json:"configurationChange"`
}

// keptnContext is Keptn's answer to an accepted event.
type keptnContext struct {
	KeptnContext string `json:"keptnContext"`
}

// keptnError is Keptn's error shape ({code, message}), with the API's error field as well.
type keptnError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Error   string `json:"error"`
}

const (
	keptnEventPrefix = "sh.keptn.event."
	keptnTriggered   = ".triggered"
)

// keptnEvent starts a sequence from a Keptn event and answers 200 {"keptnContext": ...}, as Keptn did.
func (a *API) keptnEvent(c *call) reply {
	var ev cloudEvent
	if len(bytes.TrimSpace(c.body)) == 0 {
		return invalid("request body is empty; expected a CloudEvent")
	}
	if err := json.Unmarshal(c.body, &ev); err != nil {
		return invalid("%s", decodeMessage(err, &ev))
	}
	if ev.SpecVersion != "" && ev.SpecVersion != "1.0" {
		return invalid("specversion %q is not 1.0", truncate.Excerpt(ev.SpecVersion, 20))
	}
	stage, sequence, msg := sequenceTrigger(ev.Type)
	if msg != "" {
		return invalid("%s", msg)
	}
	var data keptnTrigger
	if len(ev.Data) > 0 {
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			return invalid("data: %s", decodeMessage(err, &data))
		}
	}
	if data.Stage != "" && data.Stage != stage {
		return invalid("data.stage %q is not the stage %q of type %s", truncate.Excerpt(data.Stage, 40), stage, ev.Type)
	}
	if data.Project == "" {
		return invalid("data.project is required")
	}
	target := "service:" + data.Project + "/" + data.Service
	if !c.caller.may(data.Project) {
		return forbidden(c, target, data.Project)
	}
	if p := a.projects[data.Project]; p != nil && data.Service == "" {
		return invalid("data.service is required; services of %s: %s", p.Name, strings.Join(p.Services, ", "))
	}
	values := data.ConfigurationChange.Values
	image, _ := values["image"].(string)
	if _, set := values["image"]; set && image == "" {
		return invalid("data.configurationChange.values.image must be an image reference such as ghcr.io/podtato-head/podtatoserver:v0.1.1")
	}
	extra := map[string]any{}
	for k, v := range values {
		if k != "image" {
			extra[k] = v
		}
	}
	key := ""
	if ev.ID != "" {
		if msg := checkKey(ev.ID); msg != "" {
			return invalid("event id: %s", strings.TrimPrefix(msg, IdempotencyHeader+" "))
		}
		key = c.caller.idempotencyKey("event:" + ev.ID)
	}
	tr, err := a.eng.TriggerOnce(c.ctx, engine.Request{Project: data.Project, Service: data.Service, Stage: stage, Sequence: sequence, Image: image,
		Labels: data.Labels, Values: extra, Actor: c.caller.name, Source: string(engine.PlatformAPI), IdempotencyKey: key})
	if err != nil {
		return a.engineReply(c, target, "trigger from keptn event", err)
	}
	d, err := a.st.GetDelivery(c.ctx, tr.ID)
	if err != nil {
		return a.internal(c, "read triggered delivery", err)
	}
	rep := ok(http.StatusOK, keptnContext{KeptnContext: d.KeptnContext})
	if tr.Replayed {
		rep.outcome = outcomeDuplicate
		rep.header = http.Header{ReplayedHeader: {"true"}}
	}
	return rep
}

// sequenceTrigger reads the stage and sequence of sh.keptn.event.STAGE.SEQUENCE.triggered, or says why
// the type is not one.
func sequenceTrigger(typ string) (stage, sequence, msg string) {
	const want = "expected sh.keptn.event.STAGE.SEQUENCE.triggered, such as sh.keptn.event.qa.delivery.triggered"
	rest, ok := strings.CutPrefix(typ, keptnEventPrefix)
	if !ok {
		return "", "", "type " + quoteClip(typ) + " is not a Keptn event; " + want
	}
	parts := strings.Split(rest, ".")
	kindOf := parts[len(parts)-1]
	if kindOf != strings.TrimPrefix(keptnTriggered, ".") {
		return "", "", "type " + quoteClip(typ) + " is a ." + kindOf + " event; shipgate runs the tasks itself and takes only a sequence's .triggered event: " + want
	}
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", "type " + quoteClip(typ) + " is not a sequence event; " + want
	}
	return parts[0], parts[1], ""
}

func quoteClip(s string) string { return `"` + truncate.Excerpt(s, 80) + `"` }
