package store

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func saveWeb(t *testing.T, s *Store, ms ...*WebMessage) {
	t.Helper()
	update(t, s, func(tx *Tx) error {
		for _, m := range ms {
			if err := tx.SaveWebMessage(t.Context(), m); err != nil {
				return err
			}
		}
		return nil
	})
}

// A message is one row from its post on: each edit updates it in place and keeps its place; a save of
// an older version, one that lost a race with a newer, changes nothing.
func TestSaveWebMessage(t *testing.T) {
	s, c := newStore(t)
	posted := c.Stored()
	root := &WebMessage{Seq: 7, Channel: "demo", MessageID: "c0ffee-1", ThreadID: "c0ffee-1", Root: true, Version: 1, Body: []byte(`{"header":"Delivery #1"}`)}
	saveWeb(t, s, root)

	edited := c.Advance(time.Minute)
	for v := int64(2); v <= 20; v++ {
		// An edit says where the message is as the console holds it; the row keeps where it was posted.
		saveWeb(t, s, &WebMessage{Seq: 99, Channel: "demo", MessageID: "c0ffee-1", ThreadID: "elsewhere", Version: v,
			Body: []byte(fmt.Sprintf(`{"header":"Delivery #1","text":"edit %d"}`, v))})
	}
	saveWeb(t, s, &WebMessage{Seq: 7, Channel: "demo", MessageID: "c0ffee-1", ThreadID: "c0ffee-1", Root: true, Version: 3, Body: []byte(`{"text":"late"}`)})

	want := WebMessage{Seq: 7, Channel: "demo", MessageID: "c0ffee-1", ThreadID: "c0ffee-1", Root: true, Version: 20,
		Body: []byte(`{"header":"Delivery #1","text":"edit 20"}`), CreatedAt: posted, UpdatedAt: edited}
	got, err := s.GetWebMessage(t.Context(), "demo", "c0ffee-1")
	if err != nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("GetWebMessage = %+v, %v\nwant %+v", got, err, want)
	}
	roots, err := s.ListWebRoots(t.Context(), "demo", 10)
	if err != nil || len(roots) != 1 {
		t.Fatalf("after 20 versions of one message: %d rows, %v; want 1", len(roots), err)
	}
	if _, err := s.GetWebMessage(t.Context(), "other", "c0ffee-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the id in another channel: %v, want ErrNotFound", err)
	}
	if err := s.Update(t.Context(), func(tx *Tx) error {
		return tx.SaveWebMessage(t.Context(), &WebMessage{Seq: 8, Channel: "demo", MessageID: "c0ffee-2", Body: []byte(`not json`)})
	}); err == nil {
		t.Error("a body that is not JSON was saved")
	}
}

// A channel is read back newest first up to a limit, and given oldest first: its root cards, and each
// thread's replies, without the other threads' or channels'.
func TestListWebMessages(t *testing.T) {
	s, _ := newStore(t)
	var seq int64
	msg := func(channel, id, thread string, root bool) *WebMessage {
		seq++
		return &WebMessage{Seq: seq, Channel: channel, MessageID: id, ThreadID: thread, Root: root, Version: 1, Body: []byte(`{}`)}
	}
	var all []*WebMessage
	for i := range 5 {
		id := fmt.Sprintf("a-%d", i)
		all = append(all, msg("demo", id, id, true), msg("demo", id+"-r1", id, false), msg("other", id, id, true), msg("demo", id+"-r2", id, false))
	}
	all = append(all, msg("demo", "top", "", true))
	saveWeb(t, s, all...)

	ids := func(ms []*WebMessage) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.MessageID)
		}
		return out
	}
	roots, err := s.ListWebRoots(t.Context(), "demo", 3)
	if want := []string{"a-3", "a-4", "top"}; err != nil || !reflect.DeepEqual(ids(roots), want) {
		t.Errorf("ListWebRoots(demo, 3) = %v, %v; want %v", ids(roots), err, want)
	}
	replies, err := s.ListWebReplies(t.Context(), "demo", "a-2", 10)
	if want := []string{"a-2-r1", "a-2-r2"}; err != nil || !reflect.DeepEqual(ids(replies), want) {
		t.Errorf("ListWebReplies(demo, a-2, 10) = %v, %v; want %v", ids(replies), err, want)
	}
	replies, err = s.ListWebReplies(t.Context(), "demo", "a-2", 1)
	if want := []string{"a-2-r2"}; err != nil || !reflect.DeepEqual(ids(replies), want) {
		t.Errorf("ListWebReplies(demo, a-2, 1) = %v, %v; want %v", ids(replies), err, want)
	}
	if last, err := s.LastWebSeq(t.Context()); err != nil || last != seq {
		t.Errorf("LastWebSeq = %d, %v; want %d", last, err, seq)
	}
	for prefix, want := range map[string]bool{"a-": true, "a-4-r": true, "b-": false, "top": true, "tops": false, "a-9": false} {
		if got, err := s.WebMessageIDTaken(t.Context(), "demo", prefix); err != nil || got != want {
			t.Errorf("WebMessageIDTaken(demo, %q) = %t, %v; want %t", prefix, got, err, want)
		}
	}
	if got, err := s.WebMessageIDTaken(t.Context(), "empty", "a-"); err != nil || got {
		t.Errorf("WebMessageIDTaken in a channel without messages = %t, %v", got, err)
	}
	if _, err := s.WebMessageIDTaken(t.Context(), "demo", ""); err == nil {
		t.Error("an empty prefix was accepted")
	}
}

func TestLastWebSeqOfAnEmptyTable(t *testing.T) {
	s, _ := newStore(t)
	if last, err := s.LastWebSeq(t.Context()); err != nil || last != 0 {
		t.Errorf("LastWebSeq = %d, %v; want 0", last, err)
	}
}
