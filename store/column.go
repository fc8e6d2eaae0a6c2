package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// How Go values are stored: times as INTEGER unix milliseconds UTC, optional times and ids as NULL when
// absent, maps, lists and raw JSON as TEXT that is NULL when empty. The helpers below are the only place
// that knows this, so every table round-trips the same way.

// normalizeTime returns t as it will read back from the database: UTC, millisecond precision, and without
// a monotonic clock reading, so a value written and read again compares equal with ==.
func normalizeTime(t time.Time) time.Time {
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// normalizeTimePtr is normalizeTime for an optional time.
func normalizeTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := normalizeTime(*t)
	return &n
}

// millis is the column value of a time.
func millis(t time.Time) int64 { return t.UnixMilli() }

// nullMillis is the column value of an optional time.
func nullMillis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// nullID is the column value of an optional reference; ids start at 1, so 0 means none.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// rawJSON is the column value of a raw JSON document. It is bound as a string because a []byte would be
// a BLOB, which a STRICT TEXT column refuses.
func rawJSON(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return string(m)
}

// jsonMap is the column value of a string map.
func jsonMap(m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonList is the column value of a list.
func jsonList[T any](l []T) (any, error) {
	if len(l) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// timeColumn scans a NOT NULL time column.
type timeColumn struct{ t *time.Time }

func (c timeColumn) Scan(src any) error {
	var ms sql.Null[int64]
	if err := ms.Scan(src); err != nil {
		return err
	}
	if !ms.Valid {
		return fmt.Errorf("time column is NULL")
	}
	*c.t = time.UnixMilli(ms.V).UTC()
	return nil
}

// nullTimeColumn scans an optional time column.
type nullTimeColumn struct{ t **time.Time }

func (c nullTimeColumn) Scan(src any) error {
	var ms sql.Null[int64]
	if err := ms.Scan(src); err != nil {
		return err
	}
	if !ms.Valid {
		*c.t = nil
		return nil
	}
	t := time.UnixMilli(ms.V).UTC()
	*c.t = &t
	return nil
}

// nullIDColumn scans an optional reference, NULL reading as 0.
type nullIDColumn struct{ id *int64 }

func (c nullIDColumn) Scan(src any) error {
	var id sql.Null[int64]
	if err := id.Scan(src); err != nil {
		return err
	}
	*c.id = id.V
	return nil
}

// rawColumn scans a JSON document column, NULL reading as nil.
type rawColumn struct{ m *json.RawMessage }

func (c rawColumn) Scan(src any) error {
	var s sql.Null[string]
	if err := s.Scan(src); err != nil {
		return err
	}
	if !s.Valid {
		*c.m = nil
		return nil
	}
	*c.m = json.RawMessage(s.V)
	return nil
}

// jsonColumn scans a JSON map or list column into v, NULL leaving v nil.
type jsonColumn struct{ v any }

func (c jsonColumn) Scan(src any) error {
	var s sql.Null[string]
	if err := s.Scan(src); err != nil {
		return err
	}
	if !s.Valid {
		return nil
	}
	return json.Unmarshal([]byte(s.V), c.v)
}
