package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/output"
	"github.com/flowlens/flowlens/query/named"
	"github.com/flowlens/flowlens/query/top"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/source"
	"github.com/flowlens/flowlens/store"
)

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// duckDialect renders the dialect-specific parts of named queries.
type duckDialect struct{}

func (duckDialect) Placeholder(int) string { return "?" }
func (duckDialect) HourBucket(expr string) string {
	return "date_trunc('hour', to_timestamp(" + expr + "))"
}
func (duckDialect) Timestamp(expr string) string { return "to_timestamp(" + expr + ")" }

func newQueryCmd(e *env) *cobra.Command {
	var sf storeFlags
	var params []string
	c := &cobra.Command{
		Use:   "query NAME|SQL [SOURCE...]",
		Short: "Run SQL or a named query on the flows table",
		Long: `Run SQL, or one of the named queries ('flowlens queries' lists them), on the
flows table: the database (--db) when no SOURCE is given, or the SOURCE files
read straight into memory. --where, --since and --until restrict the records
the query sees.`,
		Example: `  flowlens query top-talkers flows.log.gz
  flowlens query ip-timeline --param addr=203.0.113.7 --since 24h
  flowlens query "SELECT action, count(*) FROM flows GROUP BY action" AWSLogs/
  flowlens query rejected-tcp-traffic --where 'dst in 10.0.0.0/8' -o json`,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := sf.prepare(time.Now()); err != nil {
				return err
			}
			values, err := parseParams(params)
			if err != nil {
				return err
			}
			text, sources := args[0], args[1:]
			q, isNamed := named.Get(text)
			if !isNamed {
				if !strings.ContainsAny(strings.TrimSpace(text), " \t\n") {
					return usagef("unknown query %q: see 'flowlens queries', or give SQL", text)
				}
				if len(values) > 0 {
					return usagef("--param is for named queries; put values in the SQL")
				}
			}
			if len(sources) > 0 {
				done, err := sf.loadFill(c, e, schema.Set{}, true)
				if err != nil {
					return err
				}
				defer done()
			}
			st, loaded, err := openForQuery(c.Context(), e, &sf, sources, schema.All())
			if err != nil {
				return err
			}
			defer st.Close()
			var sqlText string
			var qargs []any
			if isNamed {
				if err := checkNeeds(c.Context(), st, q); err != nil {
					return err
				}
				b, err := q.Bind(duckDialect{}, values, "flows", nil)
				if err != nil {
					return &UsageError{err}
				}
				sqlText, qargs = b.SQL, b.Args
			} else {
				sqlText = text
			}
			if !loaded {
				sqlText, qargs = sf.withFlows(sqlText, qargs)
			}
			return runQuery(c.Context(), e, &sf, st, sqlText, qargs)
		},
	}
	sf.register(c)
	sf.registerFill(c)
	c.Flags().StringArrayVar(&params, "param", nil, "named-query parameter as name=value (repeatable)")
	return c
}

func parseParams(ps []string) (map[string]string, error) {
	m := make(map[string]string)
	for _, p := range ps {
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef("--param %q: want name=value", p)
		}
		m[strings.TrimSpace(k)] = v
	}
	return m, nil
}

// checkNeeds says clearly when the data lacks a field a query needs.
func checkNeeds(ctx context.Context, st store.Store, q named.Query) error {
	for _, col := range q.Needs {
		rows, err := st.Query(ctx, fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM main.flows WHERE "%s" IS NOT NULL LIMIT 1) AS t`, col))
		if err != nil {
			return err
		}
		var n int64
		if rows.Next() {
			err = rows.Scan(&n)
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
		if err != nil {
			return err
		}
		if n == 0 {
			f, _ := schema.Lookup(col)
			if !flowlog.TGW.Fields().Has(f.ID) {
				return fmt.Errorf("query %s needs the field %s, which this data does not have: Transit Gateway flow logs do not record it; in VPC flow logs, add ${%s} (version %d) to the format",
					q.Name, f.Token, f.Token, f.Version)
			}
			return fmt.Errorf("query %s needs the field %s, which this data does not have: add ${%s} (version %d) to the flow log's format",
				q.Name, f.Token, f.Token, f.Version)
		}
	}
	return nil
}

// runQuery runs SQL and writes the rows.
func runQuery(ctx context.Context, e *env, sf *storeFlags, st store.Store, query string, args []any) error {
	ofmt, err := outputFormat(sf.output, e)
	if err != nil {
		return err
	}
	rows, err := st.Query(ctx, query, args...)
	if err != nil {
		return queryError(err)
	}
	defer rows.Close()
	rc := rows.Columns()
	cols, uuids := resultColumns(rc), uuidColumns(rc)
	w, err := output.NewResultWriter(ofmt, e.stdout, cols)
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for _, i := range uuids {
			if b, ok := vals[i].([]byte); ok && len(b) == 16 {
				vals[i] = uuidText(b)
			}
		}
		if err := w.WriteRow(vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return queryError(err)
	}
	return w.Close()
}

// resultColumns maps store column types to output types; BIGINT columns
// named like the flow-log times are epochs.
func resultColumns(rc []store.ResultColumn) []output.Column {
	cols := make([]output.Column, len(rc))
	for i, c := range rc {
		t := output.DatabaseType(c.DatabaseType)
		if t == output.TypeInt && (c.Name == "start" || c.Name == "end") {
			t = output.TypeEpoch
		}
		cols[i] = output.Column{Name: c.Name, Type: t}
	}
	return cols
}

// uuidColumns lists the result columns of type UUID, whose values the
// driver returns as 16 bytes.
func uuidColumns(rc []store.ResultColumn) []int {
	var idx []int
	for i, c := range rc {
		if strings.EqualFold(c.DatabaseType, "UUID") {
			idx = append(idx, i)
		}
	}
	return idx
}

// uuidText writes 16 bytes in the canonical 8-4-4-4-12 form.
func uuidText(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func newQueriesCmd(e *env) *cobra.Command {
	var of string
	c := &cobra.Command{
		Use:   "queries",
		Short: "List the named queries",
		Args:  noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			f, err := outputFormat(of, e)
			if err != nil {
				return err
			}
			w, err := output.NewResultWriter(f, e.stdout, []output.Column{
				{Name: "name"}, {Name: "group"}, {Name: "parameters"}, {Name: "needs"}, {Name: "description"},
			})
			if err != nil {
				return err
			}
			for _, q := range named.All() {
				var ps []string
				for _, p := range q.Params {
					s := p.Name + ":" + string(p.Type)
					switch {
					case p.Required:
						s += " (required)"
					case p.Default != "":
						s += "=" + p.Default
					}
					ps = append(ps, s)
				}
				if err := w.WriteRow([]any{q.Name, q.Group, strings.Join(ps, ", "), strings.Join(q.Needs, ", "), q.Description}); err != nil {
					return err
				}
			}
			return w.Close()
		},
	}
	c.Flags().StringVarP(&of, "output", "o", "", "output format: table, csv, json, ndjson, parquet")
	return c
}

func newTopCmd(e *env) *cobra.Command {
	var sf storeFlags
	var by string
	var n int
	c := &cobra.Command{
		Use:   "top KEYS [SOURCE...]",
		Short: "Top-N of records grouped by any fields, by bytes, packets or flows",
		Long: `Group records by KEYS (comma-separated field names) and rank the groups by
bytes, packets or flows, showing all three. With SOURCE files the records are
aggregated as they are parsed; without, the database (--db) answers.`,
		Example: `  flowlens top srcaddr,dstaddr flows.log.gz
  flowlens top dstport --by flows --where 'action = REJECT' -n 20 AWSLogs/
  flowlens top interface_id,dstaddr --since 1h`,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			keys, err := top.ParseKeys(args[0])
			if err != nil {
				return &UsageError{err}
			}
			m, err := top.ParseMeasure(by)
			if err != nil {
				return &UsageError{err}
			}
			if err := sf.prepare(time.Now()); err != nil {
				return err
			}
			ofmt, err := outputFormat(sf.output, e)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				st, _, err := openForQuery(c.Context(), e, &sf, nil, schema.Set{})
				if err != nil {
					return err
				}
				defer st.Close()
				if table, ok := pairTotals(st, &sf, keys); ok {
					return runQuery(c.Context(), e, &sf, st, top.TotalsSQL(keys, m, n, table), nil)
				}
				q, qargs := sf.withFlows(top.SQL(keys, m, n, "flows", ""), nil)
				return runQuery(c.Context(), e, &sf, st, q, qargs)
			}
			done, err := sf.loadFill(c, e, derivedOf(keys), false)
			if err != nil {
				return err
			}
			defer done()
			sink := &topSink{keys: keys, main: top.New(keys), fill: sf.filler}
			if sf.filtered() {
				sink.keep = sf.keep
			}
			if _, err := readSources(c.Context(), e, &sf.sourceFlags, args[1:], sf.want(sink.main.Want()), sink); e.partial(err) != nil {
				return err
			}
			return writeTop(e, ofmt, keys, sink.result().Top(m, n))
		},
	}
	sf.register(c)
	sf.registerFill(c)
	c.Flags().StringVar(&by, "by", "bytes", "rank by bytes, packets or flows")
	c.Flags().IntVarP(&n, "top", "n", 10, "number of groups to show (0: all)")
	return c
}

// pairTotals returns the store's pair totals table when they answer top
// over keys: no filter or time range, keys among srcaddr and dstaddr.
func pairTotals(st store.Store, sf *storeFlags, keys []int) (string, bool) {
	pt, ok := st.(store.PairTotals)
	if !ok || sf.filtered() {
		return "", false
	}
	for _, id := range keys { // ParseKeys refuses a key given twice
		if id != schema.FSrcAddr && id != schema.FDstAddr {
			return "", false
		}
	}
	return pt.PairTotals()
}

// topSink aggregates on the parsing goroutines, one aggregator per worker,
// merged at the end.
type topSink struct {
	keys    []int
	keep    func(*flowlog.Batch, int) bool
	main    *top.Aggregator // batches decoded outside the workers, and undos
	workers []*top.Aggregator
	// fill makes a Filler of derived fields (nil when there is nothing to
	// fill); each worker has its own.
	fill      func() *enrich.Filler
	mainFill  *enrich.Filler
	workFills []*enrich.Filler
}

// filled adds the derived fields to b with f (nil: nothing to add).
func filled(f *enrich.Filler, b *flowlog.Batch) *flowlog.Batch {
	if f != nil {
		f.Fill(b)
	}
	return b
}

var _ source.ParallelSink = (*topSink)(nil)

func (t *topSink) Workers(n int) {
	t.workers = make([]*top.Aggregator, n)
	t.workFills = make([]*enrich.Filler, n)
	for i := range t.workers {
		t.workers[i] = top.New(t.keys)
		if t.fill != nil {
			t.workFills[i] = t.fill()
		}
	}
	if t.fill != nil {
		t.mainFill = t.fill()
	}
}

func (t *topSink) WorkerBatch(w int, b *flowlog.Batch) error {
	t.workers[w].Add(filled(t.workFills[w], b), t.keep)
	return nil
}

func (t *topSink) Batch(b *flowlog.Batch) error {
	t.main.Add(filled(t.mainFill, b), t.keep)
	return nil
}

func (t *topSink) Undo(b *flowlog.Batch) error {
	t.main.Sub(filled(t.mainFill, b), t.keep)
	return nil
}

// result merges the aggregators into the one with the most groups.
func (t *topSink) result() *top.Aggregator {
	all := append([]*top.Aggregator{t.main}, t.workers...)
	base := 0
	for i, a := range all {
		if a.Groups() > all[base].Groups() {
			base = i
		}
	}
	for i, a := range all {
		if i != base {
			all[base].Merge(a)
		}
	}
	return all[base]
}

func writeTop(e *env, f output.Format, keys []int, rows []top.Row) error {
	cols := output.FieldColumns(keys)
	cols = append(cols, output.Column{Name: "flows", Type: output.TypeInt},
		output.Column{Name: "packets", Type: output.TypeInt}, output.Column{Name: "bytes", Type: output.TypeInt})
	w, err := output.NewResultWriter(f, e.stdout, cols)
	if err != nil {
		return err
	}
	for _, r := range rows {
		row := append(append([]any{}, r.Keys...), r.Flows, r.Packets, r.Bytes)
		if err := w.WriteRow(row); err != nil {
			return err
		}
	}
	return w.Close()
}

func newIngestCmd(e *env) *cobra.Command {
	var sf storeFlags
	var every int
	var everyRecs int64
	var qf sqsFlags
	var wf cwlFlags
	c := &cobra.Command{
		Use:   "ingest SOURCE...",
		Short: "Load flow logs into the database, exactly once",
		Long: `Load records into the DuckDB database (--db). Each input is recorded in an
ingest ledger in the same transaction as its rows: ingesting the same file again
adds nothing, a changed file replaces its own rows, and an interrupted ingest
leaves no partial file behind.`,
		Example: `  flowlens ingest AWSLogs/
  flowlens ingest --db /data/flows.duckdb flows-*.log.gz`,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := sf.prepare(time.Now()); err != nil {
				return err
			}
			if sf.expr != nil {
				return usagef("ingest loads whole inputs; filter when you query")
			}
			done, err := sf.loadFill(c, e, schema.Set{}, true)
			if err != nil {
				return err
			}
			defer done()
			if isSQS(args) {
				return ingestSQS(c.Context(), e, &sf, &qf, args)
			}
			if isCWL(args) {
				return ingestCWL(c.Context(), e, &sf, &wf, args)
			}
			return ingest(c.Context(), e, &sf, args, every, everyRecs)
		},
	}
	sf.sourceFlags.register(c)
	c.Flags().StringVar(&sf.db, "db", "flowlens.duckdb", "DuckDB database file")
	c.Flags().StringVar(&sf.memory, "memory-limit", "", "DuckDB memory limit, e.g. 4GB (default: half of RAM)")
	c.Flags().IntVar(&every, "commit-every", 64, "commit after this many inputs (0: once, at the end)...")
	c.Flags().Int64Var(&everyRecs, "commit-records", 1_000_000, "...holding at least this many records in all")
	sf.registerFill(c)
	qf.register(c)
	wf.register(c, &sf)
	return c
}

func ingest(ctx context.Context, e *env, sf *storeFlags, args []string, every int, everyRecs int64) error {
	st, cfg, err := sf.openWritable()
	if err != nil {
		return err
	}
	defer st.Close()
	inputs, err := expandSources(ctx, e, &sf.sourceFlags, args)
	if err != nil {
		return err
	}
	// Inputs are ingested whole, whatever --since/--until say (they only
	// prune S3 listings by key): the ledger records an object as read, so
	// records left out now could never be added later.
	if sf.timeFilter {
		for _, in := range inputs {
			if _, remote := in.(interface{ StoreObject() store.Object }); !remote {
				fmt.Fprintf(e.stderr, "flowlens: note: --since/--until select S3 objects by key and CloudWatch events by time; files are ingested whole\n")
				break
			}
		}
	}
	// Skip inputs whose very version is already in the ledger.
	var todo []source.Input
	skipped, replaced := 0, 0
	sink, err := newStoreSink(ctx, st, nil, sf.filler())
	if err != nil {
		return err
	}
	defer func() { sink.tx.Rollback() }()
	sink.CommitEvery, sink.CommitRecords = every, everyRecs
	dbAbs := localID(cfg.Path)
	var cand []source.Input
	var objs []store.Object
	for _, in := range inputs {
		obj := objectOf(in)
		if obj.ID == dbAbs || strings.HasPrefix(obj.ID, dbAbs+".") {
			continue // the database's own files, when it sits among the inputs
		}
		cand, objs = append(cand, in), append(objs, obj)
	}
	statuses, err := st.CheckMany(ctx, objs)
	if err != nil {
		return err
	}
	// A file ingested through a symbolic link by an earlier version keeps
	// the identity it has in the ledger, so its rows are not added twice.
	var legacy []store.Object
	var at []int
	for i, in := range cand {
		if statuses[i] != store.StatusNew {
			continue
		}
		if o, ok := legacyObject(in, objs[i]); ok {
			legacy, at = append(legacy, o), append(at, i)
		}
	}
	if len(legacy) > 0 {
		ls, err := st.CheckMany(ctx, legacy)
		if err != nil {
			return err
		}
		for j, i := range at {
			if ls[j] != store.StatusNew {
				objs[i], statuses[i] = legacy[j], ls[j]
			}
		}
	}
	for i, in := range cand {
		obj := objs[i]
		switch statuses[i] {
		case store.StatusUnchanged:
			skipped++
			continue
		case store.StatusChanged:
			replaced++
		}
		sink.objects[in.Name()] = obj
		todo = append(todo, in)
	}
	start := time.Now()
	var rep *source.Report
	if len(todo) > 0 {
		rep, err = readInputs(ctx, e, &sf.sourceFlags, todo, schema.All(), sink)
		if err != nil && rep == nil {
			return err
		}
		if cerr := sink.tx.Commit(ctx); cerr != nil {
			return cerr
		}
	}
	el := time.Since(start)
	recs := sink.records
	var bad int64
	if rep != nil {
		bad = rep.Total.Bad
	}
	rate := ""
	if el > 0 && recs > 0 {
		rate = fmt.Sprintf(" (%.2fM records/s)", float64(recs)/el.Seconds()/1e6)
	}
	fmt.Fprintf(e.stderr, "flowlens: ingested %d input(s) into %s: %d records, %d bad, in %.2fs%s; %d unchanged skipped, %d replaced\n",
		len(todo)-sink.aborted, cfg.Path, recs, bad, el.Seconds(), rate, skipped, replaced)
	if sink.aborted > 0 {
		fmt.Fprintf(e.stderr, "flowlens: %d input(s) could not be read completely and were left out; they will be read again next time\n", sink.aborted)
	}
	return err
}
