package engine

import (
	"encoding/json"
	"fmt"
)

// Keptn event types. A sequence event names the stage and sequence (sh.keptn.event.qa.delivery.triggered),
// a task event only the task (sh.keptn.event.deployment.started), as in Keptn's go-utils.
const (
	kindTriggered = "triggered"
	kindStarted   = "started"
	kindFinished  = "finished"
)

func sequenceEventType(stage, sequence, kind string) string {
	return "sh.keptn.event." + stage + "." + sequence + "." + kind
}

func taskEventType(task, kind string) string {
	return "sh.keptn.event." + task + "." + kind
}

// eventSource is the CloudEvents source of what the engine itself sends, as shipyard-controller was Keptn's.
const eventSource = "shipgate"

// deepMerge merges src into dst the way Keptn merged event payloads: nested maps merge key by key, any
// other value from src replaces dst's. dst is modified and returned; src's maps are copied, not shared.
func deepMerge(dst, src map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = deepMerge(dm, sm)
				continue
			}
			dst[k] = deepMerge(map[string]any{}, sm)
			continue
		}
		dst[k] = v
	}
	return dst
}

// decodeData reads an event payload; the store only holds payloads this package wrote.
func decodeData(raw json.RawMessage) map[string]any {
	m := map[string]any{}
	if len(raw) > 0 {
		// Payloads are written by encodeData below, so they always decode.
		_ = json.Unmarshal(raw, &m)
	}
	return m
}

func encodeData(m map[string]any) (json.RawMessage, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m)
}

// labelsData turns labels into payload form, where JSON has made every map map[string]any.
func labelsData(labels map[string]string) map[string]any {
	out := make(map[string]any, len(labels))
	for k, v := range labels {
		out[k] = v
	}
	return out
}

// scopeData is the part every payload carries: where the event happened.
func scopeData(project, stage, service string, labels map[string]string) map[string]any {
	m := map[string]any{"project": project, "stage": stage, "service": service}
	if len(labels) > 0 {
		m["labels"] = labelsData(labels)
	}
	return m
}

// copyData returns a deep copy, so a payload handed to an executor cannot change the engine's.
func copyData(m map[string]any) map[string]any {
	return deepMerge(make(map[string]any, len(m)), m)
}

// mustJSON encodes values the engine builds itself, which always encode.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("engine: encode %T: %v", v, err))
	}
	return b
}
