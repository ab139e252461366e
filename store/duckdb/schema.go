package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/flowlens/flowlens/store"
)

// Layout. `flows` is a view with every column of store.Columns(). The rows
// live in part tables `flows_<n>`, one per distinct set of columns the
// ingested data carries (v2 files fill 14 catalog fields, v5 files 29,
// Transit Gateway files 36; ad-hoc queries stage only the columns they
// need). The view is the UNION ALL of the parts, with NULL for the columns a
// part lacks. A single wide table would make every insert write all ~110
// columns, and DuckDB pays for a NULL about what it pays for a value: with
// v2 data that triples the CPU cost of an ingest (see bench_test.go).
// flows_parts records the parts; the view is rebuilt, in the same
// transaction, whenever a part is added.

// SchemaVersion is the schema version this code writes and reads.
const SchemaVersion = 2

// Table names besides the store.Table view.
const (
	ledgerTable  = "ingest_ledger"
	versionTable = "schema_version"
	partsTable   = "flows_parts"
	partPrefix   = "flows_"
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

// columnKinds maps every flows column to its kind.
var columnKinds = func() map[string]store.Kind {
	m := map[string]store.Kind{}
	for _, c := range store.Columns() {
		m[c.Name] = c.Kind
	}
	return m
}()

// part is one table holding rows with a given set of columns.
type part struct {
	id      int
	columns []string // in the table's order
}

func (p part) table() string { return partPrefix + strconv.Itoa(p.id) }

// signature identifies a column list.
func signature(cols []string) string { return strings.Join(cols, ",") }

// partDDL creates a part table.
func partDDL(p part) string {
	var sb strings.Builder
	sb.WriteString("CREATE TABLE " + p.table() + " (")
	for i, c := range p.columns {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(ident(c) + " " + sqlType(columnKinds[c]))
	}
	sb.WriteString(")")
	return sb.String()
}

// viewDDL (re)creates the flows view over parts.
func viewDDL(parts []part) string {
	cols := store.Columns()
	selectFrom := func(has map[string]bool, from string) string {
		var sb strings.Builder
		sb.WriteString("SELECT ")
		for i, c := range cols {
			if i > 0 {
				sb.WriteString(", ")
			}
			if has[c.Name] {
				sb.WriteString(ident(c.Name))
			} else {
				sb.WriteString("CAST(NULL AS " + sqlType(c.Kind) + ") AS " + ident(c.Name))
			}
		}
		sb.WriteString(from)
		return sb.String()
	}
	var branches []string
	for _, p := range parts {
		has := map[string]bool{}
		for _, c := range p.columns {
			has[c] = true
		}
		branches = append(branches, selectFrom(has, " FROM "+p.table()))
	}
	if len(branches) == 0 {
		branches = append(branches, selectFrom(nil, " WHERE false"))
	}
	return "CREATE OR REPLACE VIEW " + store.Table + " AS\n" + strings.Join(branches, "\nUNION ALL\n")
}

const ledgerDDL = `CREATE TABLE ` + ledgerTable + ` (
  source_id   VARCHAR PRIMARY KEY,
  size        BIGINT NOT NULL,
  mtime_ns    BIGINT,
  etag        VARCHAR,
  hash        VARCHAR,
  records     BIGINT NOT NULL,
  bad         BIGINT NOT NULL,
  ingested_at TIMESTAMP NOT NULL
)`

const partsDDL = `CREATE TABLE ` + partsTable + ` (
  part    INTEGER PRIMARY KEY,
  columns VARCHAR NOT NULL UNIQUE
)`

// migration is one schema step; steps are applied in order, each in its
// own transaction together with its schema_version row.
type migration struct {
	version int
	stmts   []string
}

var migrations = []migration{
	{1, []string{ledgerDDL, partsDDL, viewDDL(nil)}},
	pairsMigration,
}

type queryRower interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// currentVersion reads the schema version (0 for an empty database).
func currentVersion(ctx context.Context, q queryRower) (int, error) {
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
	if err := syncView(ctx, conn); err != nil {
		return applied, fmt.Errorf("schema: flows view: %w", err)
	}
	return applied, nil
}

// syncView rebuilds the flows view when its columns are not those of
// store.Columns (a newer flowlens added derived fields): the view is a
// function of the parts and the column list, so no data moves.
func syncView(ctx context.Context, conn *sql.Conn) error {
	r, err := conn.QueryContext(ctx, `SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = '`+store.Table+`' ORDER BY column_index`)
	if err != nil {
		return err
	}
	var have []string
	for r.Next() {
		var c string
		if err := r.Scan(&c); err != nil {
			r.Close()
			return err
		}
		have = append(have, c)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return err
	}
	want := store.Columns()
	same := len(have) == len(want)
	for i := 0; same && i < len(want); i++ {
		same = have[i] == want[i].Name
	}
	if same {
		return nil
	}
	parts, err := loadParts(ctx, conn)
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, viewDDL(parts))
	return err
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
	case v > SchemaVersion:
		return fmt.Errorf("schema version %d is newer than this flowlens reads (%d)", v, SchemaVersion)
	}
	// Older versions read as they are; what they lack (pair totals) is
	// not used until a writer upgrades them.
	s.version = v
	return nil
}

// loadParts reads the part registry.
func loadParts(ctx context.Context, conn *sql.Conn) ([]part, error) {
	r, err := conn.QueryContext(ctx, `SELECT part, columns FROM `+partsTable+` ORDER BY part`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var parts []part
	for r.Next() {
		var p part
		var cols string
		if err := r.Scan(&p.id, &cols); err != nil {
			return nil, err
		}
		p.columns = strings.Split(cols, ",")
		parts = append(parts, p)
	}
	return parts, r.Err()
}

// addPart creates the part for cols, registers it and rebuilds the view,
// inside the transaction open on conn; parts are the existing ones.
func addPart(ctx context.Context, conn *sql.Conn, parts []part, cols []string) (part, error) {
	p := part{id: 1, columns: cols}
	for _, q := range parts {
		p.id = max(p.id, q.id+1)
	}
	for _, c := range cols {
		if _, ok := columnKinds[c]; !ok {
			return p, fmt.Errorf("unknown column %q", c)
		}
	}
	if _, err := conn.ExecContext(ctx, partDDL(p)); err != nil {
		return p, err
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO `+partsTable+` VALUES (?, ?)`, p.id, signature(cols)); err != nil {
		return p, err
	}
	if _, err := conn.ExecContext(ctx, viewDDL(append(parts, p))); err != nil {
		return p, err
	}
	return p, nil
}
