package store

import (
	"context"
	"database/sql"
	"sync"
)

// readPool is the pool queries run on. It keeps a prepared statement per
// query text: SQLite would otherwise parse and plan every query on every
// call, which profiles showed to be a quarter of the CPU of a payment. The
// queries are constants of this package, so the cache stays small.
type readPool struct {
	*sql.DB
	stmts sync.Map // query text -> *sql.Stmt
}

// statementsMax bounds the cache, in case a caller builds query texts.
const statementsMax = 512

func (p *readPool) stmt(ctx context.Context, query string) *sql.Stmt {
	if s, ok := p.stmts.Load(query); ok {
		return s.(*sql.Stmt)
	}
	n := 0
	p.stmts.Range(func(any, any) bool { n++; return n < statementsMax })
	if n >= statementsMax {
		return nil
	}
	s, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil // the query runs unprepared and reports its own error
	}
	if prior, loaded := p.stmts.LoadOrStore(query, s); loaded {
		s.Close()
		return prior.(*sql.Stmt)
	}
	return s
}

// QueryRowContext runs a query expected to return at most one row.
func (p *readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// QueryContext runs a query.
func (p *readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// close closes the cached statements.
func (p *readPool) close() {
	p.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		p.stmts.Delete(k)
		return true
	})
}
