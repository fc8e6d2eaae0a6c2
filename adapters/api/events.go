package api

import (
	"encoding/json"
	"net/http"
	"time"
)

// keptnSpecVersion is the CloudEvents version of the event log, as Keptn wrote it.
const keptnSpecVersion = "1.0"

// cloudEventOut is a recorded event in Keptn's CloudEvents shape, with its extensions at the top level.
type cloudEventOut struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Type            string          `json:"type"`
	Source          string          `json:"source"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	KeptnContext    string          `json:"shkeptncontext"`
	TriggeredID     string          `json:"triggeredid,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// deliveryEvents answers a delivery's event log, oldest first.
func (a *API) deliveryEvents(c *call) reply {
	d, rep := a.delivery(c)
	if rep != nil {
		return *rep
	}
	events, err := a.st.ListEvents(c.ctx, d.ID)
	if err != nil {
		return a.internal(c, "list events", err)
	}
	out := make([]cloudEventOut, 0, len(events))
	for _, e := range events {
		source := e.Source
		if source == "" {
			source = "shipgate"
		}
		data := e.Data
		if len(data) == 0 {
			data = json.RawMessage("{}")
		}
		out = append(out, cloudEventOut{SpecVersion: keptnSpecVersion, ID: e.ID, Type: e.Type, Source: source, Time: utc(e.Time),
			DataContentType: "application/json", KeptnContext: e.KeptnContext, TriggeredID: e.TriggeredID, Data: data})
	}
	return ok(http.StatusOK, out)
}
