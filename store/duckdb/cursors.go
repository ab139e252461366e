package duckdb

import (
	"context"
	"database/sql"
	"fmt"
)

// CloudWatch Logs cursors (see source/cwl). Two tables, created by the
// first transaction that saves a cursor:
//
//	cwl_cursors: per log group and stream, the newest event timestamp
//	             ingested (ms since the epoch);
//	cwl_seen:    the ids of the events at or after a stream's cursor
//	             minus the look-back, for dedupe when that window is read
//	             again.
//
// Both are written through the ingest transaction, so a cursor never gets
// ahead of the rows it accounts for (and never lags behind them).
const (
	cwlCursorTable = "cwl_cursors"
	cwlSeenTable   = "cwl_seen"
)

var cwlDDL = []string{
	`CREATE TABLE IF NOT EXISTS ` + cwlCursorTable + ` (
  log_group  VARCHAR NOT NULL,
  stream     VARCHAR NOT NULL,
  last_ms    BIGINT NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  PRIMARY KEY (log_group, stream)
)`,
	`CREATE TABLE IF NOT EXISTS ` + cwlSeenTable + ` (
  log_group VARCHAR NOT NULL,
  stream    VARCHAR NOT NULL,
  event_id  VARCHAR NOT NULL,
  ts_ms     BIGINT NOT NULL
)`,
}

type querier interface {
	queryRower
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// CWLCursors returns the committed cursors of a CloudWatch Logs group:
// per stream the newest event timestamp ingested, and the event ids kept
// for dedupe with their timestamps. A store that never saved one returns
// empty maps.
func (s *Store) CWLCursors(ctx context.Context, group string) (map[string]int64, map[string]map[string]int64, error) {
	return loadCWLCursors(ctx, s.db, group)
}

// CWLCursors is Store.CWLCursors as the transaction sees it.
func (t *tx) CWLCursors(ctx context.Context, group string) (map[string]int64, map[string]map[string]int64, error) {
	if err := t.usable("read cursors"); err != nil {
		return nil, nil, err
	}
	return loadCWLCursors(ctx, t.conn, group)
}

func loadCWLCursors(ctx context.Context, q querier, group string) (map[string]int64, map[string]map[string]int64, error) {
	last := map[string]int64{}
	seen := map[string]map[string]int64{}
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE table_name = '`+cwlCursorTable+`' AND schema_name = 'main'`).Scan(&n)
	if err != nil {
		return nil, nil, fmt.Errorf("cwl cursors: %w", err)
	}
	if n == 0 {
		return last, seen, nil
	}
	r, err := q.QueryContext(ctx, `SELECT stream, last_ms FROM `+cwlCursorTable+` WHERE log_group = ?`, group)
	if err != nil {
		return nil, nil, fmt.Errorf("cwl cursors: %w", err)
	}
	defer r.Close()
	for r.Next() {
		var stream string
		var ms int64
		if err := r.Scan(&stream, &ms); err != nil {
			return nil, nil, fmt.Errorf("cwl cursors: %w", err)
		}
		last[stream] = ms
	}
	if err := r.Err(); err != nil {
		return nil, nil, fmt.Errorf("cwl cursors: %w", err)
	}
	r2, err := q.QueryContext(ctx, `SELECT stream, event_id, ts_ms FROM `+cwlSeenTable+` WHERE log_group = ?`, group)
	if err != nil {
		return nil, nil, fmt.Errorf("cwl seen events: %w", err)
	}
	defer r2.Close()
	for r2.Next() {
		var stream, id string
		var ms int64
		if err := r2.Scan(&stream, &id, &ms); err != nil {
			return nil, nil, fmt.Errorf("cwl seen events: %w", err)
		}
		ids := seen[stream]
		if ids == nil {
			ids = map[string]int64{}
			seen[stream] = ids
		}
		ids[id] = ms
	}
	if err := r2.Err(); err != nil {
		return nil, nil, fmt.Errorf("cwl seen events: %w", err)
	}
	return last, seen, nil
}

// SaveCWLCursors sets the cursors of the streams in last, forgets the
// seen ids of each stream in keepFrom older than its value, and adds the
// ids in added (stream -> id -> timestamp), all inside the transaction.
func (t *tx) SaveCWLCursors(ctx context.Context, group string, last map[string]int64,
	added map[string]map[string]int64, keepFrom map[string]int64) error {
	if err := t.usable("save cursors"); err != nil {
		return err
	}
	for _, q := range cwlDDL {
		if _, err := t.conn.ExecContext(ctx, q); err != nil {
			return t.fail(fmt.Errorf("cwl cursors: create table: %w", err))
		}
	}
	if len(last) > 0 {
		streams, ms := streamValues(last)
		_, err := t.conn.ExecContext(ctx, `INSERT INTO `+cwlCursorTable+` (log_group, stream, last_ms, updated_at)
SELECT ?, unnest(?::VARCHAR[]), unnest(?::BIGINT[]), make_timestamp(?::BIGINT)
ON CONFLICT (log_group, stream) DO UPDATE SET last_ms = excluded.last_ms, updated_at = excluded.updated_at`,
			group, streams, ms, t.began.UnixMicro())
		if err != nil {
			return t.fail(fmt.Errorf("cwl cursors %s: %w", group, err))
		}
	}
	if len(keepFrom) > 0 {
		streams, ms := streamValues(keepFrom)
		// A stream missing from the list compares with NULL: kept.
		_, err := t.conn.ExecContext(ctx, `DELETE FROM `+cwlSeenTable+`
WHERE log_group = ? AND ts_ms < (?::BIGINT[])[list_position(?::VARCHAR[], stream)]`,
			group, ms, streams)
		if err != nil {
			return t.fail(fmt.Errorf("cwl seen events %s: prune: %w", group, err))
		}
	}
	var streams, ids []string
	var ms []int64
	for s, m := range added {
		for id, v := range m {
			streams = append(streams, s)
			ids = append(ids, id)
			ms = append(ms, v)
		}
	}
	if len(ids) > 0 {
		_, err := t.conn.ExecContext(ctx, `INSERT INTO `+cwlSeenTable+` (log_group, stream, event_id, ts_ms)
SELECT ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::BIGINT[])`, group, streams, ids, ms)
		if err != nil {
			return t.fail(fmt.Errorf("cwl seen events %s: %w", group, err))
		}
	}
	return nil
}

// streamValues splits a stream -> value map into two lists in the same
// order, for unnest or list_position.
func streamValues(m map[string]int64) ([]string, []int64) {
	streams := make([]string, 0, len(m))
	vals := make([]int64, 0, len(m))
	for s, v := range m {
		streams = append(streams, s)
		vals = append(vals, v)
	}
	return streams, vals
}
