package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/flowlens/flowlens/alert"
)

// The alerts table holds every alert the detections stored, created on
// first use. Each row keeps the searchable parts in columns and the whole
// alert as JSON. The delivery column is NULL until a delivery was tried,
// the empty string once every sink took the alert, else the JSON array of
// the sinks that failed ([]alert.Failure); an older flowlens wrote the
// error text alone.
const alertsTable = "alerts"

const alertsDDL = `CREATE TABLE IF NOT EXISTS ` + alertsTable + ` (
  id           VARCHAR PRIMARY KEY,
  rule         VARCHAR NOT NULL,
  alert_key    VARCHAR NOT NULL,
  severity     VARCHAR NOT NULL,
  window_start BIGINT NOT NULL,
  window_end   BIGINT NOT NULL,
  value        BIGINT NOT NULL,
  fired_at     TIMESTAMP NOT NULL,
  delivery     VARCHAR,
  body         VARCHAR NOT NULL
)`

var _ alert.Store = (*Store)(nil)

// hasAlerts reports whether the alerts table exists.
func (s *Store) hasAlerts(ctx context.Context, q queryRower) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE table_name = '`+alertsTable+`' AND schema_name = 'main'`).Scan(&n)
	return n > 0, err
}

// SaveAlert stores a unless an alert with the same rule and key has a
// window start less than suppress away (or the same one). The check and the
// insert run in one transaction. It fails on a read-only store.
func (s *Store) SaveAlert(ctx context.Context, a *alert.Alert, suppress time.Duration) (stored bool, err error) {
	if s.cfg.ReadOnly {
		return false, fmt.Errorf("save alert: %w", ErrReadOnly)
	}
	if a.ID == "" {
		a.SetID()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("save alert: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, alertsDDL); err != nil {
		return false, fmt.Errorf("save alert: create table: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return false, fmt.Errorf("save alert: %w", err)
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	ws := a.WindowStart.Unix()
	sup := int64(suppress / time.Second)
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM `+alertsTable+`
WHERE id = ? OR (rule = ? AND alert_key = ? AND (window_start = ? OR abs(window_start - ?) < ?))`,
		a.ID, a.Rule, a.DedupeKey(), ws, ws, sup).Scan(&n); err != nil {
		return false, fmt.Errorf("save alert: dedupe: %w", err)
	}
	if n > 0 {
		_, err = conn.ExecContext(ctx, "ROLLBACK")
		return false, err
	}
	if a.FiredAt.IsZero() {
		a.FiredAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	body, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("save alert: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO `+alertsTable+` VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
		a.ID, a.Rule, a.DedupeKey(), a.Severity, ws, a.WindowEnd.Unix(), a.Value, a.FiredAt, string(body)); err != nil {
		return false, fmt.Errorf("save alert: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return false, fmt.Errorf("save alert: commit: %w", err)
	}
	return true, nil
}

// ListAlerts returns the stored alerts in window-start order (none when no
// alert was ever stored).
func (s *Store) ListAlerts(ctx context.Context, q alert.Query) ([]alert.Alert, error) {
	ok, err := s.hasAlerts(ctx, s.db)
	if err != nil || !ok {
		return nil, err
	}
	query := `SELECT body FROM ` + alertsTable + ` WHERE (? = '' OR rule = ?)`
	if q.Undelivered {
		query += ` AND delivery IS NOT NULL AND delivery <> ''`
	}
	query += ` ORDER BY window_start, rule, alert_key`
	r, err := s.db.QueryContext(ctx, query, q.Rule, q.Rule)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer r.Close()
	var out []alert.Alert
	for r.Next() {
		var body string
		if err := r.Scan(&body); err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		var a alert.Alert
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		out = append(out, a)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return out, nil
}

// ListPending returns the alerts a sink failed to deliver, with those
// sinks, in window-start order. A delivery text written by an older
// flowlens (an error, not a list of sinks) gives one Failure with no sink.
func (s *Store) ListPending(ctx context.Context) ([]alert.Pending, error) {
	ok, err := s.hasAlerts(ctx, s.db)
	if err != nil || !ok {
		return nil, err
	}
	r, err := s.db.QueryContext(ctx, `SELECT body, delivery FROM `+alertsTable+`
WHERE delivery IS NOT NULL AND delivery <> '' ORDER BY window_start, rule, alert_key`)
	if err != nil {
		return nil, fmt.Errorf("list undelivered alerts: %w", err)
	}
	defer r.Close()
	var out []alert.Pending
	for r.Next() {
		var body, delivery string
		if err := r.Scan(&body, &delivery); err != nil {
			return nil, fmt.Errorf("list undelivered alerts: %w", err)
		}
		var p alert.Pending
		if err := json.Unmarshal([]byte(body), &p.Alert); err != nil {
			return nil, fmt.Errorf("list undelivered alerts: %w", err)
		}
		if strings.HasPrefix(delivery, "[") {
			if err := json.Unmarshal([]byte(delivery), &p.Failed); err != nil {
				return nil, fmt.Errorf("list undelivered alerts: alert %s: delivery: %w", p.Alert.ID, err)
			}
		}
		if len(p.Failed) == 0 {
			p.Failed = []alert.Failure{{Error: delivery}}
		}
		out = append(out, p)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("list undelivered alerts: %w", err)
	}
	return out, nil
}

// SetDelivery records the sinks that have not delivered alert id (none:
// delivered).
func (s *Store) SetDelivery(ctx context.Context, id string, failed []alert.Failure) error {
	delivery := ""
	if len(failed) > 0 {
		b, err := json.Marshal(failed)
		if err != nil {
			return fmt.Errorf("set delivery of alert %s: %w", id, err)
		}
		delivery = string(b)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE `+alertsTable+` SET delivery = ? WHERE id = ?`, delivery, id)
	if err != nil {
		return fmt.Errorf("set delivery of alert %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("set delivery of alert %s: %w", id, sql.ErrNoRows)
	}
	return nil
}
