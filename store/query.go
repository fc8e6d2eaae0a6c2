package store

import (
	"database/sql"
	"strings"
)

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// filter builds the WHERE clause of a list query from the filters a caller set, so that every query keeps
// plain "column = ?" terms the planner can match to an index.
type filter struct {
	terms []string
	args  []any
}

// where adds a term with its arguments.
func (f *filter) where(term string, args ...any) {
	f.terms = append(f.terms, term)
	f.args = append(f.args, args...)
}

// in adds "column IN (...)" for a non-empty list of values; an empty list adds nothing.
func in[T any](f *filter, column string, values []T) {
	if len(values) == 0 {
		return
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")
	f.terms = append(f.terms, column+" IN ("+marks+")")
	for _, v := range values {
		f.args = append(f.args, v)
	}
}

// String returns the WHERE clause, or "" when no filter was set.
func (f *filter) String() string {
	if len(f.terms) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(f.terms, " AND ")
}

// limit is the LIMIT value of a list query; SQLite reads a negative limit as none.
func limit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (*T, error)) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
