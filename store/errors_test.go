package store

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"modernc.org/sqlite"
)

func TestClassify(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one in-memory database
	_, err = db.ExecContext(t.Context(), `
		CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT UNIQUE);
		CREATE TABLE c (p INTEGER REFERENCES p (id));
		INSERT INTO p VALUES (1, 'a');`)
	if err != nil {
		t.Fatal(err)
	}
	failing := func(stmt string) error {
		_, err := db.ExecContext(t.Context(), stmt)
		if err == nil {
			t.Fatalf("%s succeeded", stmt)
		}
		return err
	}
	other := errors.New("disk on fire")

	tests := []struct {
		name string
		err  error
		want error // nil: passed through unchanged
	}{
		{"no rows", sql.ErrNoRows, ErrNotFound},
		{"wrapped no rows", fmt.Errorf("scan: %w", sql.ErrNoRows), ErrNotFound},
		{"primary key", failing("INSERT INTO p VALUES (1, 'b')"), ErrConflict},
		{"unique", failing("INSERT INTO p VALUES (2, 'a')"), ErrConflict},
		{"foreign key", failing("INSERT INTO c VALUES (7)"), nil},
		{"datatype mismatch", failing("INSERT INTO p VALUES ('x', 'y')"), nil},
		{"not from sqlite", other, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if tt.want == nil {
				if got != tt.err {
					t.Errorf("classify(%v) = %v, want it unchanged", tt.err, got)
				}
				return
			}
			if !errors.Is(got, tt.want) {
				t.Errorf("classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
			var se *sqlite.Error
			if errors.As(tt.err, &se) && !errors.As(got, &se) {
				t.Errorf("classify(%v) dropped the SQLite error from the chain", tt.err)
			}
		})
	}
}
