package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/flowlens/flowlens/store"
)

// SchemaVersion is the schema version this code writes and reads.
const SchemaVersion = 1

// Table names besides store.Table.
const (
	ledgerTable  = "ingest_ledger"
	versionTable = "schema_version"
)

// sqlType maps a column kind to its DuckDB type.
func sqlType(k store.Kind) string {
	switch k {
	case store.KindString, store.KindIP:
		return "VARCHAR"
	case store.KindInt32:
		return "INTEGER"
	case store.KindInt64, store.KindEpoch:
		return "BIGINT"
	case store.KindIPBin:
		return "BLOB"
	case store.KindBool:
		return "BOOLEAN"
	case store.KindTimestamp:
		return "TIMESTAMP"
	}
	panic(fmt.Sprintf("duckdb: no SQL type for column kind %d", k))
}

// ident quotes an identifier (several catalog columns, such as "end", are
// SQL keywords).
func ident(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// flowsDDL is the CREATE TABLE statement of `flows`.
func flowsDDL() string {
	var sb strings.Builder
	sb.WriteString("CREATE TABLE IF NOT EXISTS " + store.Table + " (\n")
	for i, c := range store.Columns() {
		if i > 0 {
			sb.WriteString(",\n")
		}
		sb.WriteString("  " + ident(c.Name) + " " + sqlType(c.Kind))
	}
	sb.WriteString("\n)")
	return sb.String()
}

const ledgerDDL = `CREATE TABLE IF NOT EXISTS ` + ledgerTable + ` (
  source_id   VARCHAR PRIMARY KEY,
  size        BIGINT NOT NULL,
  mtime_ns    BIGINT,
  etag        VARCHAR,
  hash        VARCHAR,
  records     BIGINT NOT NULL,
  bad         BIGINT NOT NULL,
  ingested_at TIMESTAMP NOT NULL
)`

// migration is one schema step; steps are applied in order, each in its
// own transaction together with its schema_version row.
type migration struct {
	version int
	stmts   []string
}

var migrations = []migration{
	{1, []string{flowsDDL(), ledgerDDL}},
}

// currentVersion reads the schema version (0 for an empty database).
func currentVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE table_name = '`+versionTable+`' AND schema_name = 'main'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM `+versionTable).Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// migrate brings the schema up to date and returns the steps applied (0
// when it already was).
func (s *Store) migrate(ctx context.Context) (int, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+versionTable+` (
  version    INTEGER PRIMARY KEY,
  applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)`); err != nil {
		return 0, fmt.Errorf("schema: %w", err)
	}
	cur, err := currentVersion(ctx, conn)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	if cur > SchemaVersion {
		return 0, fmt.Errorf("schema version %d is newer than this flowlens supports (%d)", cur, SchemaVersion)
	}
	applied := 0
	for _, m := range migrations {
		if m.version <= cur {
			continue
		}
		if err := applyMigration(ctx, conn, m); err != nil {
			return applied, fmt.Errorf("schema version %d: %w", m.version, err)
		}
		applied++
	}
	return applied, nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, m migration) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			err = errors.Join(err, rerr)
		}
	}()
	for _, q := range m.stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO `+versionTable+` (version) VALUES (?)`, m.version); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

// checkSchema verifies that a read-only database has the expected schema.
func (s *Store) checkSchema(ctx context.Context) error {
	v, err := currentVersion(ctx, s.db)
	if err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	switch {
	case v == 0:
		return errors.New("not a flowlens store (no schema_version table)")
	case v != SchemaVersion:
		return fmt.Errorf("schema version %d, this flowlens reads version %d (open it once read-write to upgrade)", v, SchemaVersion)
	}
	return nil
}
