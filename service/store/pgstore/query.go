package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

// queryArgs builds the WHERE clause and arguments of a query.
type queryArgs struct {
	where []string
	args  []any
}

// add appends a condition in which each %s stands for the next of vs.
func (q *queryArgs) add(cond string, vs ...any) {
	ph := make([]any, len(vs))
	for i, v := range vs {
		q.args = append(q.args, v)
		ph[i] = "$" + strconv.Itoa(len(q.args))
	}
	q.where = append(q.where, fmt.Sprintf(cond, ph...))
}

// clause returns " WHERE ..." or "".
func (q *queryArgs) clause() string {
	if len(q.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.where, " AND ")
}

// keyPage is a listing of one table ordered by its text primary key, for
// the Page* methods: the cursor is the last key of the previous page.
type keyPage struct {
	// columns, table and key name the SELECT; where, with args ($1...),
	// filters it ("" for none).
	columns, table, key string
	where               string
	args                []any
}

// pageRows returns one page of q as R values and the next page's cursor
// ("" at the end). A page size outside [1, 1000] means 100 or 1000.
func pageRows[R any](ctx context.Context, s *Store, q keyPage, p store.Page, keyOf func(R) string) ([]R, string, error) {
	limit := store.PageSize(p.Size)
	qa := queryArgs{args: q.args}
	if q.where != "" {
		qa.where = append(qa.where, q.where)
	}
	if p.After != "" {
		qa.add(q.key+" > %s", p.After)
	}
	rows, _ := s.pool.Query(ctx, "SELECT "+q.columns+" FROM "+q.table+qa.clause()+
		" ORDER BY "+q.key+" LIMIT "+strconv.Itoa(limit+1), qa.args...)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[R])
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

// querier runs a query returning one row: the pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// conditionalMiss explains why a conditional write (WHERE key = id AND
// version matches) touched no row of table: ErrVersionMismatch when the
// row exists with another version, ErrNotFound when it does not exist.
func conditionalMiss(ctx context.Context, q querier, table, key, id, entity string) error {
	var exists bool
	if err := q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+table+" WHERE "+key+" = $1)", id).Scan(&exists); err != nil {
		return fmt.Errorf("%s: %w", entity, err)
	}
	if exists {
		return fmt.Errorf("%s: %w", entity, store.ErrVersionMismatch)
	}
	return fmt.Errorf("%s: %w", entity, store.ErrNotFound)
}

// deleteIf deletes the row of table whose key column equals id if
// ifVersion is 0 or its version; ErrNotFound or ErrVersionMismatch (see
// conditionalMiss) otherwise. fk is the error of a foreign-key violation.
func (s *Store) deleteIf(ctx context.Context, table, key, id string, ifVersion int64, entity string, fk error) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM "+table+" WHERE "+key+" = $1 AND ($2::bigint = 0 OR version = $2)", id, ifVersion)
	if err != nil {
		return mapErr(entity, err, fk)
	}
	if tag.RowsAffected() == 0 {
		return conditionalMiss(ctx, s.pool, table, key, id, entity)
	}
	return nil
}
