package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tollgate-dev/tollgate/service/store"
)

// where builds the WHERE clause and arguments of a query.
type where struct {
	conds []string
	args  []any
}

// add appends a condition whose ? stand for vs.
func (w *where) add(cond string, vs ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, vs...)
}

// clause returns " WHERE ..." or "".
func (w *where) clause() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// scanner is a row (sql.Row or sql.Rows).
type scanner interface {
	Scan(dest ...any) error
}

// collect reads every row of rows with scan.
func collect[R any](rows *sql.Rows, err error, scan func(scanner) (R, error)) ([]R, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []R
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// keyPage is a listing of one table ordered by its text primary key, for
// the Page* methods: the cursor is the last key of the previous page.
type keyPage struct {
	// columns, table and key name the SELECT; w filters it.
	columns, table, key string
	w                   where
}

// pageRows returns one page of q and the next page's cursor ("" at the end).
func pageRows[R any](ctx context.Context, s *Store, q keyPage, p store.Page, scan func(scanner) (R, error), keyOf func(R) string) ([]R, string, error) {
	limit := store.PageSize(p.Size)
	w := q.w
	if p.After != "" {
		w.add(q.key+" > ?", p.After)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+q.columns+" FROM "+q.table+w.clause()+
		" ORDER BY "+q.key+" LIMIT "+strconv.Itoa(limit+1), w.args...)
	rs, err := collect(rows, err, scan)
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", q.table, err)
	}
	next := ""
	if len(rs) > limit {
		rs = rs[:limit]
		next = keyOf(rs[limit-1])
	}
	return rs, next, nil
}

// querier runs a query returning one row: a pool or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conditionalMiss explains why a conditional write (WHERE key = id AND
// version matches) touched no row of table: ErrVersionMismatch when the
// row exists with another version, ErrNotFound when it does not exist.
func conditionalMiss(ctx context.Context, q querier, table, key, id, entity string) error {
	var exists bool
	if err := q.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+table+" WHERE "+key+" = ?)", id).Scan(&exists); err != nil {
		return fmt.Errorf("%s: %w", entity, err)
	}
	if exists {
		return fmt.Errorf("%s: %w", entity, store.ErrVersionMismatch)
	}
	return fmt.Errorf("%s: %w", entity, store.ErrNotFound)
}

// deleteIf deletes the row of table whose key column equals id if
// ifVersion is 0 or its version, and announces change; ErrNotFound or
// ErrVersionMismatch (see conditionalMiss) otherwise. fk is the error of a
// foreign-key violation.
func (s *Store) deleteIf(ctx context.Context, table, key, id string, ifVersion int64, entity string, fk error, change store.ChangeKind) error {
	return s.write(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, "DELETE FROM "+table+" WHERE "+key+" = ? AND (? = 0 OR version = ?)", id, ifVersion, ifVersion)
		if err != nil {
			return mapErr(entity, err, fk)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return conditionalMiss(ctx, t, table, key, id, entity)
		}
		if change != "" {
			t.changed(change, id)
		}
		return nil
	})
}

// jsonText returns v as JSON text for a TEXT column.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// mapJSON returns m as a JSON object ({} for nil).
func mapJSON(m map[string]string) string {
	if m == nil {
		return "{}"
	}
	s, _ := jsonText(m) // a map of strings always marshals
	return s
}

// listJSON returns l as a JSON array ([] for nil).
func listJSON(l []string) string {
	if l == nil {
		return "[]"
	}
	s, _ := jsonText(l)
	return s
}

// parseMap decodes a JSON object column.
func parseMap(s string) (map[string]string, error) {
	m := map[string]string{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode map: %w", err)
	}
	return m, nil
}

// parseList decodes a JSON array column.
func parseList(s string) ([]string, error) {
	l := []string{}
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	return l, nil
}

// specText returns a JSON spec for storage, {} when empty.
func specText(spec []byte) string {
	if len(spec) == 0 {
		return "{}"
	}
	return string(spec)
}
