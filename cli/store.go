package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/query/filter"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/source"
	"github.com/flowlens/flowlens/source/local"
	"github.com/flowlens/flowlens/store"
	"github.com/flowlens/flowlens/store/duckdb"
)

// storeFlags select the store and restrict the records a command sees.
type storeFlags struct {
	sourceFlags
	db     string
	where  string
	since  string
	until  string
	output string
	memory string

	// fill selects the enrichment data, on the commands that register it
	// (registerFill); enr, loaded from it by loadFill, fills the derived
	// fields of records read from SOURCE arguments (nil: none).
	fill     fillFlags
	enr      *enrich.Enricher
	fillWant schema.Set // the derived fields to fill

	// Resolved by prepare.
	expr       *filter.Expr
	from, to   int64 // epoch seconds; 0 when unset
	timeFilter bool
}

func (f *storeFlags) register(c *cobra.Command) {
	f.sourceFlags.register(c)
	fl := c.Flags()
	fl.StringVar(&f.db, "db", "flowlens.duckdb", "DuckDB database file used when no SOURCE is given")
	fl.StringVar(&f.where, "where", "", "filter records, e.g. 'dstport = 22 and action = REJECT and src not in 10.0.0.0/8'")
	fl.StringVar(&f.since, "since", "", "only records at or after this time: RFC 3339 or a duration back from now (24h, 30m, 7d)")
	fl.StringVar(&f.until, "until", "", "only records before this time: RFC 3339 or a duration back from now")
	fl.StringVarP(&f.output, "output", "o", "", "output format: table, csv, json, ndjson, parquet (default: table on a terminal, csv otherwise)")
	fl.StringVar(&f.memory, "memory-limit", "", "DuckDB memory limit before it spills to disk, e.g. 4GB (default: half of RAM)")
}

// registerFill adds the enrichment flags.
func (f *storeFlags) registerFill(c *cobra.Command) { f.fill.register(c) }

// loadFill loads the enrichment data and checks that the records read from
// SOURCE arguments can carry the derived fields in need and those the
// --where filter reads. Those are the fields filled, or, with all, every
// field the data allows. Call the returned function when done.
func (f *storeFlags) loadFill(c *cobra.Command, e *env, need schema.Set, all bool) (func(), error) {
	en, done, err := f.fill.load(c, e)
	if err != nil {
		return nil, err
	}
	d := derivedIn(f.expr)
	need[0] |= d[0]
	need[1] |= d[1]
	if err := checkFillable(en, need); err != nil {
		done()
		return nil, err
	}
	f.enr = en
	f.fillWant = need
	if all {
		f.fillWant = en.Columns()
	}
	return done, nil
}

// prepare compiles --where and resolves --since/--until.
func (f *storeFlags) prepare(now time.Time) error {
	if strings.TrimSpace(f.where) != "" {
		e, err := filter.Compile(f.where, filter.Catalog())
		if err != nil {
			return &UsageError{err}
		}
		f.expr = e
	}
	var err error
	if f.from, err = parseTimeFlag("--since", f.since, now); err != nil {
		return err
	}
	if f.to, err = parseTimeFlag("--until", f.until, now); err != nil {
		return err
	}
	if f.from != 0 && f.to != 0 && f.to < f.from {
		return usagef("--until must not be before --since")
	}
	f.timeFilter = f.from != 0 || f.to != 0
	return nil
}

// parseTimeFlag accepts RFC 3339, a date, or a duration back from now
// (with d for days). Record times are whole seconds, so a time within a
// second is rounded up: "end >= since" and "start < until" then hold for
// the epoch exactly when they hold for the time given.
func parseTimeFlag(name, s string, now time.Time) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return ceilUnix(t), nil
		}
	}
	d := s
	mult := time.Duration(1)
	if strings.HasSuffix(d, "d") {
		d, mult = strings.TrimSuffix(d, "d")+"h", 24
	}
	dur, err := time.ParseDuration(d)
	if err != nil || dur <= 0 {
		return 0, usagef("%s %q: want RFC 3339 (2024-03-11T10:00:00Z), a date, or a duration like 24h or 7d", name, s)
	}
	return ceilUnix(now.Add(-dur * mult)), nil
}

// ceilUnix is t in epoch seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() != 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// want adds the fields the restrictions read.
func (f *storeFlags) want(s schema.Set) schema.Set {
	if f.expr != nil {
		n := f.expr.Needs()
		s[0] |= n[0]
		s[1] |= n[1]
	}
	if f.timeFilter {
		s.Add(schema.FStart)
		s.Add(schema.FEnd)
	}
	if f.enr != nil {
		n := f.enr.Needs(f.fillWant)
		s[0] |= n[0]
		s[1] |= n[1]
	}
	return s
}

// filler returns a Filler of the derived fields to fill, nil when there
// are none.
func (f *storeFlags) filler() *enrich.Filler {
	if f == nil || f.enr == nil || f.fillWant == (schema.Set{}) {
		return nil
	}
	return f.enr.NewFiller(f.fillWant)
}

// keep reports whether row i passes --where and --since/--until. A record
// is in the time range when its capture window overlaps it.
func (f *storeFlags) keep(b *flowlog.Batch, i int) bool {
	if f.timeFilter {
		if f.from != 0 {
			if end, ok := b.Int(schema.FEnd, i); !ok || end < f.from {
				return false
			}
		}
		if f.to != 0 {
			if start, ok := b.Int(schema.FStart, i); !ok || start >= f.to {
				return false
			}
		}
	}
	return f.expr == nil || f.expr.Eval(b, i)
}

// filtered reports whether any restriction is set.
func (f *storeFlags) filtered() bool { return f.expr != nil || f.timeFilter }

// condition renders the restrictions as SQL for the store, with arguments.
func (f *storeFlags) condition() (string, []any) {
	var parts []string
	var args []any
	if f.from != 0 {
		parts = append(parts, `"end" >= ?`)
		args = append(args, f.from)
	}
	if f.to != 0 {
		parts = append(parts, `"start" < ?`)
		args = append(args, f.to)
	}
	if f.expr != nil {
		var s string
		s, args = f.expr.AppendSQL(filter.DuckDB{}, args)
		parts = append(parts, "("+s+")")
	}
	return strings.Join(parts, " AND "), args
}

// withFlows prefixes query with a CTE named flows that holds only the
// records passing the restrictions, so SQL, named queries and top all see
// the same filtered table.
func (f *storeFlags) withFlows(query string, args []any) (string, []any) {
	if !f.filtered() {
		return query, args
	}
	cond, cargs := f.condition()
	cte := fmt.Sprintf("flows AS (SELECT * FROM main.%s WHERE %s)", store.Table, cond)
	lead, rest := skipSQLSpace(query)
	if kw, ok := sqlKeyword(rest, "WITH"); ok {
		head := "WITH "
		lead2, after := skipSQLSpace(kw)
		if kw2, ok := sqlKeyword(after, "RECURSIVE"); ok {
			head, lead2, after = "WITH RECURSIVE ", "", kw2
		}
		query = lead + head + cte + ", " + lead2 + after
	} else {
		query = "WITH " + cte + " " + lead + rest
	}
	return query, append(cargs, args...)
}

// skipSQLSpace splits s into its leading white space and comments (-- to
// the end of the line, /* ... */) and the rest.
func skipSQLSpace(s string) (lead, rest string) {
	i := 0
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f':
			i++
		case strings.HasPrefix(s[i:], "--"):
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(s)
			}
		case strings.HasPrefix(s[i:], "/*"):
			if j := strings.Index(s[i+2:], "*/"); j >= 0 {
				i += 2 + j + 2
			} else {
				i = len(s)
			}
		default:
			return s[:i], s[i:]
		}
	}
	return s, ""
}

// sqlKeyword reports whether s starts with the keyword kw (any case) as a
// whole word, and returns what follows it.
func sqlKeyword(s, kw string) (after string, ok bool) {
	if len(s) < len(kw) || !strings.EqualFold(s[:len(kw)], kw) {
		return s, false
	}
	if len(s) > len(kw) {
		c := s[len(kw)]
		if c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return s, false
		}
	}
	return s[len(kw):], true
}

func (f *storeFlags) duckConfig() (duckdb.Config, error) {
	cfg := duckdb.DefaultConfig()
	cfg.Path = f.db
	if f.memory != "" {
		n, err := parseBytes(f.memory)
		if err != nil {
			return cfg, usagef("--memory-limit: %v", err)
		}
		cfg.MemoryLimit = n
	}
	return cfg, cfg.Validate()
}

// openWritable opens the database at --db for writing (ingest, alerts).
func (f *storeFlags) openWritable() (*duckdb.Store, duckdb.Config, error) {
	cfg, err := f.duckConfig()
	if err != nil {
		return nil, cfg, err
	}
	st, err := duckdb.Open(cfg)
	return st, cfg, err
}

// parseBytes reads sizes like 512MB, 4GB, 1.5GiB.
func parseBytes(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	units := []struct {
		suffix string
		mult   float64
	}{{"TIB", 1 << 40}, {"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			var v float64
			if _, err := fmt.Sscanf(strings.TrimSuffix(s, u.suffix), "%g", &v); err != nil || v <= 0 {
				return 0, fmt.Errorf("%q is not a size", s)
			}
			return int64(v * u.mult), nil
		}
	}
	return 0, fmt.Errorf("%q: give a unit (MB, GB)", s)
}

// openForQuery returns the store a query runs on: with SOURCE arguments, an
// in-memory store loaded with the records that pass the restrictions (only
// the fields in want are decoded); without, the database at --db opened
// read-only. The restrictions are applied while loading in the first case,
// so the caller applies them (withFlows) only when loaded is false.
func openForQuery(ctx context.Context, e *env, f *storeFlags, args []string, want schema.Set) (st store.Store, loaded bool, err error) {
	cfg, err := f.duckConfig()
	if err != nil {
		return nil, false, err
	}
	if len(args) == 0 {
		cfg.ReadOnly = true
		s, err := duckdb.Open(cfg)
		if err != nil {
			if !fileExists(cfg.Path) {
				return nil, false, fmt.Errorf("no database at %s: give SOURCE files, or run 'flowlens ingest SOURCE...' first", cfg.Path)
			}
			return nil, false, err
		}
		return s, false, nil
	}
	s, err := duckdb.OpenMemory(cfg)
	if err != nil {
		return nil, false, err
	}
	sink, err := newStoreSink(ctx, s, f, f.filler())
	if err != nil {
		s.Close()
		return nil, false, err
	}
	sink.keepPartial = true
	if _, err := readSources(ctx, e, &f.sourceFlags, args, f.want(want), sink); e.partial(err) != nil {
		sink.tx.Rollback()
		s.Close()
		return nil, false, err
	}
	if err := sink.tx.Commit(ctx); err != nil {
		s.Close()
		return nil, false, err
	}
	return s, true, nil
}

// storeSink appends the pipeline's records to an ingest transaction, one
// object per input, keeping only rows that pass the restrictions.
type storeSink struct {
	ctx     context.Context
	st      store.Store
	tx      store.Tx
	f       *storeFlags    // restrictions; nil keeps everything
	fill    *enrich.Filler // derived fields added to every batch; nil adds none
	kept    *flowlog.Batch
	objects map[string]store.Object // the identity of each input
	// Commit once CommitEvery inputs holding at least CommitRecords
	// records were read since the last commit (CommitEvery 0: only at the
	// end). Many small files then share a commit, which costs about as
	// much as loading a million records.
	CommitEvery   int
	CommitRecords int64
	pending       int
	pendingRecs   int64
	records       int64 // records of inputs ended in the ledger
	aborted       int   // inputs left out because they could not be read
	// keepPartial keeps the rows of an input read before the damage that
	// stopped it (ad-hoc queries answer over them), where an ingest leaves
	// the input out to read it again next time.
	keepPartial bool
}

// newStoreSink starts an ingest transaction on st. Rows must pass f's
// restrictions (nil keeps all); fill (nil: none) adds derived fields first,
// so that the restrictions can use them.
func newStoreSink(ctx context.Context, st store.Store, f *storeFlags, fill *enrich.Filler) (*storeSink, error) {
	tx, err := st.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &storeSink{ctx: ctx, st: st, tx: tx, f: f, fill: fill, kept: flowlog.NewBatch(), objects: map[string]store.Object{}}, nil
}

// objectOf is the ledger identity of an input. Inputs from remote sources
// say it themselves (bucket/key/ETag for S3).
func objectOf(in source.Input) store.Object {
	if o, ok := in.(interface{ StoreObject() store.Object }); ok {
		return o.StoreObject()
	}
	obj := store.Object{ID: in.Name(), Size: in.Size()}
	if in == source.Stdin {
		// Every read of standard input is new data.
		obj.ID = "stdin@" + time.Now().UTC().Format(time.RFC3339Nano)
	}
	if lf, ok := in.(*local.File); ok {
		obj.ID = localID(lf.Path)
		obj.MTime = lf.ModTime.UTC().Truncate(time.Microsecond)
	}
	return obj
}

// localID is a local file's identity: its absolute path with symbolic
// links resolved, so that a file reached through a link, or through a
// linked folder, is the same object as the file itself.
func localID(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// legacyObject returns in's identity as ledgers written before symbolic
// links were resolved hold it (the absolute path as given), when that
// differs from objectOf's.
func legacyObject(in source.Input, obj store.Object) (store.Object, bool) {
	lf, ok := in.(*local.File)
	if !ok {
		return obj, false
	}
	abs, err := filepath.Abs(lf.Path)
	if err != nil || abs == obj.ID {
		return obj, false
	}
	obj.ID = abs
	return obj, true
}

func (s *storeSink) BeginInput(in source.Input) error {
	obj, ok := s.objects[in.Name()]
	if !ok {
		obj = objectOf(in)
	}
	return s.tx.BeginObject(s.ctx, obj)
}

func (s *storeSink) Batch(b *flowlog.Batch) error {
	if s.fill != nil {
		s.fill.Fill(b)
	}
	if s.f != nil && s.f.filtered() {
		s.kept.Reset(b.Present)
		for i := 0; i < b.N; i++ {
			if s.f.keep(b, i) {
				s.kept.AppendRowFrom(b, i)
			}
		}
		if s.kept.N == 0 {
			return nil
		}
		b = s.kept
	}
	return s.tx.Append(s.ctx, b)
}

// EndInput records a fully read input in the ledger. An input that could
// not be read to its end (res.Err) is left out, rows and all, so the next
// run reads it again; the run reports it and exits 1.
func (s *storeSink) EndInput(in source.Input, res *source.InputResult) error {
	if res.Err != nil && !s.keepPartial {
		s.aborted++
		return s.tx.AbortObject(s.ctx)
	}
	s.records += res.Stats.Records
	if err := s.tx.EndObject(s.ctx, store.Result{Records: res.Stats.Records, Bad: res.Stats.Bad}); err != nil {
		return err
	}
	s.pending++
	s.pendingRecs += res.Stats.Records
	if s.CommitEvery > 0 && s.pending >= s.CommitEvery && s.pendingRecs >= s.CommitRecords {
		if err := s.tx.Commit(s.ctx); err != nil {
			return err
		}
		tx, err := s.st.Begin(s.ctx)
		if err != nil {
			return err
		}
		s.tx, s.pending, s.pendingRecs = tx, 0, 0
	}
	return nil
}

// isUsageSQLError reports whether a store error is about the query text
// (syntax, unknown table or column) rather than running it.
func isUsageSQLError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"Parser Error", "Binder Error", "Catalog Error", "syntax error"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func queryError(err error) error {
	if err == nil {
		return nil
	}
	if isUsageSQLError(err) {
		return &UsageError{err}
	}
	var le *store.LockedError
	if errors.As(err, &le) {
		return err
	}
	return err
}
