// Package duckdb is the embedded analytic store: flow records in a DuckDB
// database file (or in memory, for ad-hoc queries over SOURCE arguments),
// loaded in bulk with an ingest ledger committed in the same transaction.
//
// Layout: `flows` is a view with every column of store.Columns(); the rows
// live in part tables, one per set of columns the data carries (see
// schema.go). ingest_ledger records every committed source object,
// schema_version the applied migrations.
//
// Loading: an ingest transaction copies batches into a columnar stage and
// moves it into a part table with one INSERT per Config.FlushRows rows.
// Built with the duckdb_arrow build tag (`go build -tags duckdb_arrow`),
// the stage reaches DuckDB as a zero-copy Arrow stream, the fastest path
// the binding offers; without the tag a table function fills DuckDB's data
// chunks instead. BenchmarkLoad compares them with the Appender and with
// Parquet staging.
//
// Processes: one writer at a time. Open takes an exclusive flock on
// "<path>.lock" (holding the writer's PID) for the Store's lifetime, so a
// second writer fails at once with a *store.LockedError ("store is locked by
// PID <pid> (<path>)"). Read-only stores (Config.ReadOnly) take a shared
// lock: any number of readers may run together, but not while a writer is
// active (they get the same error), and a writer cannot start while readers
// are open. DuckDB's httpfs/inet extensions are not bundled here, so
// extension autoload and autoinstall are switched off.
package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/flowlens/flowlens/store"
)

// Dialect is the name Store.Dialect returns.
const Dialect = "duckdb"

// Config configures a DuckDB store.
type Config struct {
	// Path is the database file used by Open (created if missing, unless
	// ReadOnly). OpenMemory ignores it.
	Path string
	// ReadOnly opens an existing database for queries only: no schema
	// changes, Begin fails, and several readers may share the file.
	ReadOnly bool
	// MemoryLimit bounds DuckDB's buffer memory in bytes; beyond it DuckDB
	// spills to TempDir. 0 means MemoryFraction of the machine's memory
	// (or of the cgroup limit, when lower).
	MemoryLimit int64
	// MemoryFraction is the share of memory used when MemoryLimit is 0,
	// in (0, 1].
	MemoryFraction float64
	// Threads is the number of DuckDB worker threads; 0 means GOMAXPROCS.
	Threads int
	// TempDir is where DuckDB spills. With Open, empty means DuckDB's own
	// default ("<Path>.tmp"). OpenMemory always creates a fresh directory
	// inside TempDir (os.TempDir() when empty) and removes it on Close.
	TempDir string
	// FlushRows is how many rows an ingest transaction stages in memory
	// before it loads them into the table in one statement. Larger is
	// faster up to a point and costs about 150 bytes per row of v2 data.
	FlushRows int
}

// DefaultConfig returns the settings the CLI uses, with Path
// "flowlens.duckdb".
func DefaultConfig() Config {
	return Config{
		Path:           "flowlens.duckdb",
		MemoryFraction: 0.5,
		FlushRows:      1 << 19,
	}
}

// Validate reports the first invalid setting. Zero values that have a
// default are valid.
func (c Config) Validate() error {
	if strings.ContainsAny(c.Path, "?#") {
		return fmt.Errorf("duckdb: path %q: '?' and '#' are not allowed in a database path", c.Path)
	}
	if c.MemoryLimit < 0 {
		return fmt.Errorf("duckdb: memory limit %d: must not be negative", c.MemoryLimit)
	}
	if c.MemoryLimit == 0 && (c.MemoryFraction < 0 || c.MemoryFraction > 1) {
		return fmt.Errorf("duckdb: memory fraction %g: must be in (0, 1]", c.MemoryFraction)
	}
	if c.Threads < 0 {
		return fmt.Errorf("duckdb: threads %d: must not be negative", c.Threads)
	}
	if c.FlushRows < 0 {
		return fmt.Errorf("duckdb: flush rows %d: must not be negative", c.FlushRows)
	}
	return nil
}

// withDefaults fills zero values.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MemoryFraction == 0 {
		c.MemoryFraction = d.MemoryFraction
	}
	if c.Threads == 0 {
		c.Threads = runtime.GOMAXPROCS(0)
	}
	if c.FlushRows == 0 {
		c.FlushRows = d.FlushRows
	}
	if c.MemoryLimit == 0 {
		c.MemoryLimit = int64(float64(physicalMemory()) * c.MemoryFraction)
	}
	return c
}

// Store is a DuckDB-backed store.Store.
type Store struct {
	cfg       Config
	path      string // absolute path, or "" in memory
	connector *duckdb.Connector
	db        *sql.DB
	lock      *lockFile
	tmpDir    string        // removed on Close (OpenMemory only)
	txSem     chan struct{} // one ingest transaction at a time
	stage     *stage        // buffers kept between transactions (guarded by txSem)
	load      loader
	version   int // schema version of the database
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed, unless cfg.ReadOnly) the database at
// cfg.Path, takes the process lock and brings the schema up to date. A
// store held by another writer gives a *store.LockedError.
func Open(cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("duckdb: open: no database path")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("duckdb: open %s: %w", cfg.Path, err)
	}
	if cfg.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("duckdb: open %s read-only: %w", path, err)
		}
	}
	lk, err := acquireLock(path, cfg.ReadOnly)
	if err != nil {
		return nil, err
	}
	s, err := open(cfg, path, cfg.TempDir)
	if err != nil {
		lk.release()
		return nil, err
	}
	s.lock = lk
	return s, nil
}

// OpenMemory opens an in-memory store for ad-hoc queries over records read
// straight from their sources. Its memory is bounded by the configured
// limit: DuckDB spills to a temporary directory that Close removes.
func OpenMemory(cfg Config) (*Store, error) {
	cfg.Path = ""
	cfg.ReadOnly = false
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	tmp, err := os.MkdirTemp(cfg.TempDir, "flowlens-duckdb-")
	if err != nil {
		return nil, fmt.Errorf("duckdb: temp directory: %w", err)
	}
	s, err := open(cfg, "", tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	s.tmpDir = tmp
	return s, nil
}

// dsn builds the connection string for path ("" for memory).
func dsn(cfg Config, path, tmp string) string {
	q := url.Values{}
	q.Set("threads", strconv.Itoa(cfg.Threads))
	q.Set("memory_limit", strconv.FormatInt(max(cfg.MemoryLimit>>20, 1), 10)+"MiB")
	q.Set("autoinstall_known_extensions", "false")
	q.Set("autoload_known_extensions", "false")
	if tmp != "" {
		q.Set("temp_directory", tmp)
	}
	if cfg.ReadOnly {
		q.Set("access_mode", "READ_ONLY")
	} else {
		// DuckDB picks dictionary compression for nearly every string
		// segment of flow records anyway; forcing it skips trying the
		// others on each segment, about a tenth of an ingest's time, with
		// databases of the same size (v2, all-fields and Transit Gateway
		// data measured).
		q.Set("force_compression", "dictionary")
	}
	if path == "" {
		path = ":memory:"
	}
	return path + "?" + q.Encode()
}

func open(cfg Config, path, tmp string) (*Store, error) {
	name := path
	if name == "" {
		name = ":memory:"
	}
	connector, err := duckdb.NewConnector(dsn(cfg, path, tmp), nil)
	if err != nil {
		return nil, fmt.Errorf("duckdb: open %s: %w", name, err)
	}
	s := &Store{
		cfg:       cfg,
		path:      path,
		connector: connector,
		db:        sql.OpenDB(connector),
		txSem:     make(chan struct{}, 1),
		load:      defaultLoader,
	}
	ctx := context.Background()
	if cfg.ReadOnly {
		err = s.checkSchema(ctx)
	} else if _, err = s.migrate(ctx); err == nil {
		s.version = SchemaVersion
		err = s.load.prepare(ctx, s.db)
	}
	if err != nil {
		s.db.Close()
		return nil, fmt.Errorf("duckdb: open %s: %w", name, err)
	}
	return s, nil
}

// Dialect returns "duckdb".
func (s *Store) Dialect() string { return Dialect }

// Path returns the database file's absolute path ("" in memory).
func (s *Store) Path() string { return s.path }

// DB returns the underlying database handle, for callers that need
// DuckDB-specific features (e.g. registering table functions). Statements
// run on it must not write to the store's tables.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database, releases the lock and removes the temporary
// directory of an in-memory store.
func (s *Store) Close() error {
	err := s.db.Close()
	if err != nil {
		err = fmt.Errorf("duckdb: close: %w", err)
	}
	if s.lock != nil {
		s.lock.release()
		s.lock = nil
	}
	if s.tmpDir != "" {
		if rerr := os.RemoveAll(s.tmpDir); rerr != nil && err == nil {
			err = fmt.Errorf("duckdb: close: %w", rerr)
		}
		s.tmpDir = ""
	}
	return err
}

// Query runs a query and streams its rows.
func (s *Store) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	r, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	cts, err := r.ColumnTypes()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("query: %w", err)
	}
	cols := make([]store.ResultColumn, len(cts))
	for i, ct := range cts {
		cols[i] = store.ResultColumn{Name: ct.Name(), DatabaseType: ct.DatabaseTypeName()}
	}
	return &rows{Rows: r, cols: cols}, nil
}

// rows adapts *sql.Rows to store.Rows.
type rows struct {
	*sql.Rows
	cols []store.ResultColumn
}

func (r *rows) Columns() []store.ResultColumn { return r.cols }
