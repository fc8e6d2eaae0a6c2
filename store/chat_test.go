package store

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestSaveChatMessage(t *testing.T) {
	s, c := newStore(t)
	a := seedApproval(t, s)
	d := a.DeliveryID
	posted := c.Stored()

	root := ChatMessage{DeliveryID: d, Platform: "slack", Channel: "C0PODTATO", MessageID: "1741944413.000100", Kind: MessageRoot}
	thread := ChatMessage{DeliveryID: d, Platform: "slack", Channel: "C0PODTATO", MessageID: "1741944414.000200", ThreadID: "1741944413.000100", Kind: MessageThread}
	ask := ChatMessage{DeliveryID: d, Platform: "discord", Channel: "1100000000000000001", MessageID: "1100000000000000777", Kind: MessageApproval, ApprovalID: a.ID}
	update(t, s, func(tx *Tx) error {
		for _, m := range []*ChatMessage{&root, &thread, &ask} {
			if err := tx.SaveChatMessage(t.Context(), m); err != nil {
				return err
			}
		}
		return nil
	})
	for _, m := range []ChatMessage{root, thread, ask} {
		if m.ID == 0 || m.CreatedAt != posted || m.UpdatedAt != posted {
			t.Errorf("after SaveChatMessage: %+v, want ID set and timestamps %v", m, posted)
		}
	}

	// Saving the same message again updates it in place.
	edited := c.Advance(time.Minute)
	again := ChatMessage{DeliveryID: d, Platform: "slack", Channel: "C0PODTATO", MessageID: "1741944414.000200", ThreadID: "1741944413.000100", Kind: MessageApproval, ApprovalID: a.ID}
	update(t, s, func(tx *Tx) error { return tx.SaveChatMessage(t.Context(), &again) })
	want := thread
	want.Kind, want.ApprovalID, want.UpdatedAt = MessageApproval, a.ID, edited
	if !reflect.DeepEqual(again, want) {
		t.Errorf("after saving again:\n got %+v\nwant %+v", again, want)
	}

	got, err := s.GetChatMessage(t.Context(), "slack", "C0PODTATO", "1741944414.000200")
	if err != nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("GetChatMessage = %+v, %v; want %+v", got, err, want)
	}
	list, err := s.ListChatMessages(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	if wantList := []*ChatMessage{&root, &want, &ask}; !reflect.DeepEqual(list, wantList) {
		t.Errorf("ListChatMessages:\n got %+v\nwant %+v", list, wantList)
	}
}

func TestChatMessageBelongsToOneDelivery(t *testing.T) {
	s, _ := newStore(t)
	d1, d2 := seedDelivery(t, s), seedDelivery(t, s)
	m := ChatMessage{DeliveryID: d1.ID, Platform: "slack", Channel: "C1", MessageID: "1.1", Kind: MessageRoot}
	update(t, s, func(tx *Tx) error { return tx.SaveChatMessage(t.Context(), &m) })
	steal := m
	steal.DeliveryID = d2.ID
	err := s.Update(t.Context(), func(tx *Tx) error { return tx.SaveChatMessage(t.Context(), &steal) })
	if !errors.Is(err, ErrConflict) {
		t.Errorf("saving delivery %d's message for delivery %d = %v, want ErrConflict", d1.ID, d2.ID, err)
	}
}

func TestRootMessage(t *testing.T) {
	s, _ := newStore(t)
	d, other := seedDelivery(t, s), seedDelivery(t, s)
	root := ChatMessage{DeliveryID: d.ID, Platform: "slack", Channel: "C1", MessageID: "1.1", Kind: MessageRoot}
	update(t, s, func(tx *Tx) error {
		for _, m := range []*ChatMessage{
			{DeliveryID: d.ID, Platform: "slack", Channel: "C1", MessageID: "1.0", Kind: MessageThread},
			&root,
			{DeliveryID: d.ID, Platform: "discord", Channel: "C1", MessageID: "9", Kind: MessageRoot},
			{DeliveryID: other.ID, Platform: "slack", Channel: "C1", MessageID: "2.1", Kind: MessageRoot},
		} {
			if err := tx.SaveChatMessage(t.Context(), m); err != nil {
				return err
			}
		}
		return nil
	})

	tests := []struct {
		name     string
		delivery int64
		platform string
		channel  string
		want     *ChatMessage // nil: ErrNotFound
	}{
		{"posted", d.ID, "slack", "C1", &root},
		{"other channel", d.ID, "slack", "C2", nil},
		{"web has none", d.ID, "web", "C1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.RootMessage(t.Context(), tt.delivery, tt.platform, tt.channel)
			if tt.want == nil {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("RootMessage = %+v, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RootMessage = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := s.GetChatMessage(t.Context(), "slack", "C1", "no-such-ts"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetChatMessage of an unknown message = %v, want ErrNotFound", err)
	}
}
