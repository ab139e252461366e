package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/query/top"
	"github.com/flowlens/flowlens/store"
)

// ErrReadOnly is returned by Begin on a read-only store.
var ErrReadOnly = errors.New("store is open read-only")

// Check looks obj up in the committed ledger.
func (s *Store) Check(ctx context.Context, obj store.Object) (store.Status, error) {
	return checkObject(ctx, s.db, obj)
}

func checkObject(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, obj store.Object) (store.Status, error) {
	e, ok, err := lookupLedger(ctx, q, obj.ID)
	if err != nil {
		return 0, fmt.Errorf("ledger %s: %w", obj.ID, err)
	}
	return statusOf(e, ok, obj), nil
}

// statusOf is obj's status given its ledger entry e (found: ok).
func statusOf(e store.LedgerEntry, ok bool, obj store.Object) store.Status {
	switch {
	case !ok:
		return store.StatusNew
	case e.Object.SameVersion(obj):
		return store.StatusUnchanged
	}
	return store.StatusChanged
}

// CheckMany looks objects up in the committed ledger with one query per
// thousand objects.
func (s *Store) CheckMany(ctx context.Context, objs []store.Object) ([]store.Status, error) {
	out := make([]store.Status, len(objs))
	const per = 1000
	for a := 0; a < len(objs); a += per {
		part := objs[a:min(a+per, len(objs))]
		args := make([]any, len(part))
		for i, o := range part {
			args[i] = o.ID
		}
		q := `SELECT ` + ledgerCols + ` FROM ` + ledgerTable + ` WHERE source_id IN (?` + strings.Repeat(", ?", len(part)-1) + `)`
		r, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		found := map[string]store.LedgerEntry{}
		for r.Next() {
			e, err := scanLedger(r)
			if err != nil {
				r.Close()
				return nil, fmt.Errorf("ledger: %w", err)
			}
			found[e.ID] = e
		}
		r.Close()
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		for i, o := range part {
			e, ok := found[o.ID]
			out[a+i] = statusOf(e, ok, o)
		}
	}
	return out, nil
}

const ledgerCols = `source_id, size, mtime_ns, etag, hash, records, bad, epoch_us(ingested_at)`

// scanLedger reads one ledger row selected with ledgerCols.
func scanLedger(sc interface{ Scan(...any) error }) (store.LedgerEntry, error) {
	var e store.LedgerEntry
	var mtime sql.NullInt64
	var etag, hash sql.NullString
	var at int64
	err := sc.Scan(&e.ID, &e.Size, &mtime, &etag, &hash, &e.Records, &e.Bad, &at)
	if mtime.Valid {
		e.MTime = time.Unix(0, mtime.Int64)
	}
	e.ETag, e.Hash = etag.String, hash.String
	e.IngestedAt = time.UnixMicro(at).UTC()
	return e, err
}

// ledgerLookup selects one object's ledger entry by ID.
const ledgerLookup = `SELECT ` + ledgerCols + ` FROM ` + ledgerTable + ` WHERE source_id = ?`

func lookupLedger(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (store.LedgerEntry, bool, error) {
	return ledgerRow(q.QueryRowContext(ctx, ledgerLookup, id))
}

// ledgerRow reads the result of ledgerLookup: the entry, and whether
// there was one.
func ledgerRow(r *sql.Row) (store.LedgerEntry, bool, error) {
	e, err := scanLedger(r)
	if errors.Is(err, sql.ErrNoRows) {
		return e, false, nil
	}
	return e, err == nil, err
}

// Ledger lists the committed ledger in ID order.
func (s *Store) Ledger(ctx context.Context) ([]store.LedgerEntry, error) {
	r, err := s.db.QueryContext(ctx, `SELECT `+ledgerCols+` FROM `+ledgerTable+` ORDER BY source_id`)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	defer r.Close()
	var out []store.LedgerEntry
	for r.Next() {
		e, err := scanLedger(r)
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		out = append(out, e)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return out, nil
}

// Begin starts an ingest transaction; only one runs at a time, the next
// Begin waits for it.
func (s *Store) Begin(ctx context.Context) (store.Tx, error) {
	if s.cfg.ReadOnly {
		return nil, fmt.Errorf("begin ingest: %w", ErrReadOnly)
	}
	select {
	case s.txSem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("begin ingest: %w", ctx.Err())
	}
	conn, err := s.db.Conn(ctx)
	var parts []part
	if err == nil {
		// Rows of a part have no meaningful order: letting DuckDB insert
		// in parallel, unordered, takes a third off the load time.
		_, err = conn.ExecContext(ctx, "SET SESSION preserve_insertion_order = false")
		if err == nil {
			_, err = conn.ExecContext(ctx, "BEGIN TRANSACTION")
		}
		if err == nil {
			parts, err = loadParts(ctx, conn)
		}
		if err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			conn.Close()
		}
	}
	if err != nil {
		<-s.txSem
		return nil, fmt.Errorf("begin ingest: %w", err)
	}
	var pairs *top.Aggregator
	if s.keepsPairs() {
		pairs = top.New(pairKeys)
	}
	return &tx{
		s:       s,
		pairs:   pairs,
		conn:    conn,
		parts:   parts,
		began:   time.Now().UTC().Truncate(time.Microsecond),
		stage:   s.takeStage(),
		objects: make(map[string]bool),
	}, nil
}

// takeStage returns the stage kept from the last transaction (its warm
// buffers spare the page faults of a fresh one), or a new stage. Only the
// transaction holding txSem calls it.
func (s *Store) takeStage() *stage {
	st := s.stage
	s.stage = nil
	if st == nil {
		return newStage()
	}
	st.reset()
	return st
}

// tx is a store.Tx on one connection holding an open DuckDB transaction.
type tx struct {
	s       *Store
	conn    *sql.Conn
	parts   []part // the part tables, including those this transaction added
	began   time.Time
	stage   *stage
	objects map[string]bool // IDs begun in this transaction
	cur     *store.Object   // object being appended, nil between objects
	curSrc  int32           // its index in the stage's sources
	curRows int64           // rows appended for it
	pending []store.LedgerEntry
	lookup  *sql.Stmt       // the ledger lookup, prepared once per transaction
	pairs   *top.Aggregator // totals of the rows added, when the store keeps them
	err     error           // first error; the transaction can only be rolled back
	done    bool
}

var _ store.Tx = (*tx)(nil)

// fail records the first error and returns err.
func (t *tx) fail(err error) error {
	if t.err == nil {
		t.err = err
	}
	return err
}

func (t *tx) usable(op string) error {
	switch {
	case t.done:
		return fmt.Errorf("ingest %s: transaction already ended", op)
	case t.err != nil:
		return fmt.Errorf("ingest %s: transaction failed earlier: %w", op, t.err)
	}
	return nil
}

// BeginObject starts obj's rows and deletes the rows of an earlier version.
func (t *tx) BeginObject(ctx context.Context, obj store.Object) error {
	if err := t.usable("begin object"); err != nil {
		return err
	}
	switch {
	case obj.ID == "":
		return fmt.Errorf("ingest: object without ID")
	case t.cur != nil:
		return fmt.Errorf("ingest %s: object %s not ended", obj.ID, t.cur.ID)
	case t.objects[obj.ID]:
		return fmt.Errorf("ingest %s: object appears twice in one transaction", obj.ID)
	}
	if t.lookup == nil {
		st, err := t.conn.PrepareContext(ctx, ledgerLookup)
		if err != nil {
			return t.fail(fmt.Errorf("ingest: ledger: %w", err))
		}
		t.lookup = st
	}
	_, had, err := ledgerRow(t.lookup.QueryRowContext(ctx, obj.ID))
	if err != nil {
		return t.fail(fmt.Errorf("ingest %s: ledger: %w", obj.ID, err))
	}
	if had {
		if err := t.deleteRows(ctx, obj.ID); err != nil {
			return t.fail(fmt.Errorf("ingest %s: delete earlier version: %w", obj.ID, err))
		}
	}
	t.objects[obj.ID] = true
	o := obj
	t.cur = &o
	t.curSrc = t.stage.addSource(obj.ID)
	t.curRows = 0
	return nil
}

// Append stages the rows of b, loading the stage into the table when full.
func (t *tx) Append(ctx context.Context, b *flowlog.Batch) error {
	if err := t.usable("append"); err != nil {
		return err
	}
	if t.cur == nil {
		return fmt.Errorf("ingest: append outside an object")
	}
	if !t.stage.fits(b) {
		if err := t.flush(ctx); err != nil {
			return err
		}
	}
	t.stage.append(b, t.curSrc)
	if t.pairs != nil {
		t.pairs.Add(b, nil)
	}
	t.curRows += int64(b.N)
	if t.stage.n >= t.s.cfg.FlushRows {
		return t.flush(ctx)
	}
	return nil
}

// flush loads the staged rows into the table.
func (t *tx) flush(ctx context.Context) error {
	if t.stage.n == 0 {
		return nil
	}
	p, err := t.partFor(ctx, partColumns(t.stage))
	if err != nil {
		return t.fail(fmt.Errorf("ingest: %w", err))
	}
	if err := t.s.load.load(ctx, t.conn, t.stage, p.table(), t.began.UnixMicro()); err != nil {
		return t.fail(fmt.Errorf("ingest: load %d rows into %s: %w", t.stage.n, p.table(), err))
	}
	// The current object keeps staging after the flush under a new index.
	t.stage.reset()
	if t.cur != nil {
		t.curSrc = t.stage.addSource(t.cur.ID)
	}
	return nil
}

// partFor returns the part table for rows with cols, adding it if needed.
func (t *tx) partFor(ctx context.Context, cols []string) (part, error) {
	sig := signature(cols)
	for _, p := range t.parts {
		if signature(p.columns) == sig {
			return p, nil
		}
	}
	p, err := addPart(ctx, t.conn, t.parts, cols)
	if err != nil {
		return p, fmt.Errorf("add part table for columns %s: %w", sig, err)
	}
	t.parts = append(t.parts, p)
	return p, nil
}

// deleteRows deletes the rows of object id from every part, taking them
// out of the pair totals first.
func (t *tx) deleteRows(ctx context.Context, id string) error {
	for _, p := range t.parts {
		if err := t.subtractPairs(ctx, p, id); err != nil {
			return fmt.Errorf("pair totals: %w", err)
		}
		if _, err := t.conn.ExecContext(ctx, `DELETE FROM `+p.table()+` WHERE `+ident(store.ColSource)+` = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

// EndObject ends the current object and queues its ledger entry.
func (t *tx) EndObject(ctx context.Context, res store.Result) error {
	if err := t.usable("end object"); err != nil {
		return err
	}
	if t.cur == nil {
		return fmt.Errorf("ingest: end object outside an object")
	}
	t.pending = append(t.pending, store.LedgerEntry{Object: *t.cur, Result: res, IngestedAt: t.began})
	t.cur = nil
	return nil
}

// AbortObject discards the current object's rows and ledger entry.
func (t *tx) AbortObject(ctx context.Context) error {
	if err := t.usable("abort object"); err != nil {
		return err
	}
	if t.cur == nil {
		return fmt.Errorf("ingest: abort object outside an object")
	}
	id := t.cur.ID
	// Load what is staged so every row of the object is in a part table,
	// then delete them there; the path is rare (corrupt inputs).
	if err := t.flush(ctx); err != nil {
		return err
	}
	if err := t.deleteRows(ctx, id); err != nil {
		return t.fail(fmt.Errorf("ingest %s: abort: %w", id, err))
	}
	if _, err := t.conn.ExecContext(ctx, `DELETE FROM `+ledgerTable+` WHERE source_id = ?`, id); err != nil {
		return t.fail(fmt.Errorf("ingest %s: abort: ledger: %w", id, err))
	}
	t.cur = nil
	return nil
}

// ledgerChunk bounds the rows of one ledger INSERT statement.
const ledgerChunk = 256

// writeLedger upserts the pending ledger entries.
func (t *tx) writeLedger(ctx context.Context) error {
	for len(t.pending) > 0 {
		n := min(len(t.pending), ledgerChunk)
		var sb strings.Builder
		sb.WriteString(`INSERT INTO ` + ledgerTable + ` (source_id, size, mtime_ns, etag, hash, records, bad, ingested_at) VALUES `)
		args := make([]any, 0, 8*n)
		for i, e := range t.pending[:n] {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?, ?, make_timestamp(?::BIGINT))")
			var mtime sql.NullInt64
			if !e.MTime.IsZero() {
				mtime = sql.NullInt64{Int64: e.MTime.UnixNano(), Valid: true}
			}
			args = append(args, e.ID, e.Size, mtime, nullString(e.ETag), nullString(e.Hash),
				e.Records, e.Bad, e.IngestedAt.UnixMicro())
		}
		sb.WriteString(` ON CONFLICT (source_id) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
  etag = excluded.etag, hash = excluded.hash, records = excluded.records, bad = excluded.bad,
  ingested_at = excluded.ingested_at`)
		if _, err := t.conn.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
		t.pending = t.pending[n:]
	}
	return nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// Commit loads what is staged, writes the ledger and commits.
func (t *tx) Commit(ctx context.Context) error {
	if err := t.usable("commit"); err != nil {
		return err
	}
	if t.cur != nil {
		return t.fail(fmt.Errorf("ingest commit: object %s not ended", t.cur.ID))
	}
	if err := t.flush(ctx); err != nil {
		return err
	}
	if err := t.writePairs(ctx); err != nil {
		return t.fail(fmt.Errorf("ingest commit: pair totals: %w", err))
	}
	if err := t.writeLedger(ctx); err != nil {
		return t.fail(fmt.Errorf("ingest commit: ledger: %w", err))
	}
	if _, err := t.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return t.fail(fmt.Errorf("ingest commit: %w", err))
	}
	t.end()
	return nil
}

// Rollback discards the transaction; after Commit it does nothing.
func (t *tx) Rollback() error {
	if t.done {
		return nil
	}
	_, err := t.conn.ExecContext(context.Background(), "ROLLBACK")
	if err != nil {
		// Never hand a connection in an unknown transaction state back to
		// the pool: ErrBadConn makes database/sql discard it.
		_ = t.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	t.end()
	if err != nil {
		return fmt.Errorf("ingest rollback: %w", err)
	}
	return nil
}

func (t *tx) end() {
	t.done = true
	if t.lookup != nil {
		t.lookup.Close()
	}
	if _, err := t.conn.ExecContext(context.Background(), "RESET SESSION preserve_insertion_order"); err != nil {
		_ = t.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	t.conn.Close()
	t.s.stage = t.stage // keep its buffers for the next transaction
	t.stage = nil
	<-t.s.txSem
}
