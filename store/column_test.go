package store

import (
	"database/sql"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestNormalizeTime(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"sub-millisecond digits dropped", time.Date(2025, 3, 14, 9, 26, 53, 589_793_238, time.UTC), time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)},
		{"zone converted to UTC", time.Date(2025, 3, 14, 10, 0, 0, 0, time.FixedZone("CET", 3600)), time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := normalizeTime(tt.in); got != tt.want {
				t.Errorf("normalizeTime(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	if got := normalizeTime(time.Now()); got != got.Round(0) {
		t.Error("normalizeTime kept the monotonic clock reading of time.Now")
	}
}

func TestColumnsRoundTrip(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)
	labels, err := jsonMap(map[string]string{"version": "v0.1.1"})
	if err != nil {
		t.Fatal(err)
	}
	noLabels, err := jsonMap(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := jsonList([]int64{3, 1})
	if err != nil {
		t.Fatal(err)
	}

	var (
		gotTime      time.Time
		gotSome      *time.Time
		gotNone      = new(time.Now()) // must be reset to nil
		gotID, gotNo int64
		gotRaw       json.RawMessage
		gotNoRaw     = json.RawMessage("stale")
		gotLabels    map[string]string
		gotNoLabels  map[string]string
		gotIDs       []int64
	)
	err = db.QueryRowContext(t.Context(), `SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`,
		millis(at), nullMillis(&at), nullMillis(nil), nullID(7), nullID(0),
		rawJSON(json.RawMessage(`{"a":1}`)), rawJSON(nil), labels, noLabels, ids,
	).Scan(timeColumn{&gotTime}, nullTimeColumn{&gotSome}, nullTimeColumn{&gotNone}, nullIDColumn{&gotID},
		nullIDColumn{&gotNo}, rawColumn{&gotRaw}, rawColumn{&gotNoRaw}, jsonColumn{&gotLabels},
		jsonColumn{&gotNoLabels}, jsonColumn{&gotIDs})
	if err != nil {
		t.Fatal(err)
	}
	if gotTime != at || gotSome == nil || *gotSome != at || gotNone != nil {
		t.Errorf("times = %v, %v, %v; want %v, %v, nil", gotTime, gotSome, gotNone, at, at)
	}
	if gotID != 7 || gotNo != 0 {
		t.Errorf("ids = %d, %d; want 7, 0", gotID, gotNo)
	}
	if string(gotRaw) != `{"a":1}` || gotNoRaw != nil {
		t.Errorf("raw JSON = %s, %s; want {\"a\":1}, nil", gotRaw, gotNoRaw)
	}
	if !reflect.DeepEqual(gotLabels, map[string]string{"version": "v0.1.1"}) || gotNoLabels != nil {
		t.Errorf("maps = %v, %v; want the labels, and nil for an empty map", gotLabels, gotNoLabels)
	}
	if !reflect.DeepEqual(gotIDs, []int64{3, 1}) {
		t.Errorf("list = %v, want [3 1]", gotIDs)
	}

	err = db.QueryRowContext(t.Context(), `SELECT NULL`).Scan(timeColumn{&gotTime})
	if err == nil {
		t.Error("a NULL scanned into a required time")
	}
}
