package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/parquet-go/parquet-go"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
)

// benchRows is the size of the benchmark ingest.
const benchRows = 1_000_000

var benchData = sync.OnceValue(func() []*flowlog.Batch {
	// ~1 MiB chunks, as the reader pipeline hands them to the parser.
	lines := v2Lines(benchRows, 7)
	p := flowlog.NewParser(flowlog.V2, schema.All())
	var out []*flowlog.Batch
	for i := 0; i < len(lines); {
		j, size := i, 0
		for j < len(lines) && size < 1<<20 {
			size += len(lines[j]) + 1
			j++
		}
		b := flowlog.NewBatch()
		var ch flowlog.Chunk
		p.ParseChunk([]byte(strings.Join(lines[i:j], "\n")), b, &ch)
		if ch.Stats.Bad != 0 {
			panic(fmt.Sprintf("bad benchmark lines: %+v", ch.Stats))
		}
		out = append(out, b)
		i = j
	}
	return out
})

// BenchmarkLoad ingests 1M v2 records into a fresh database file with each
// loader, from Begin to Close (commit and checkpoint included).
//
//	go test -tags duckdb_arrow -run '^$' -bench Load -benchtime 5x ./store/duckdb/
func BenchmarkLoad(b *testing.B) {
	for _, ld := range allLoaders() {
		b.Run(ld.name(), func(b *testing.B) { benchLoad(b, ld, 0) })
	}
}

// allLoaders returns the production loaders and the benchmark-only ones.
func allLoaders() []loader {
	return append(append([]loader{}, loaders...), appenderLoader{}, parquetLoader{})
}

// BenchmarkLoadFlushRows varies the stage size of the default loader.
func BenchmarkLoadFlushRows(b *testing.B) {
	for _, n := range []int{1 << 16, 1 << 18, 1 << 19, 1 << 20} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchLoad(b, defaultLoader, n) })
	}
}

func benchLoad(b *testing.B, ld loader, flushRows int) {
	batches := benchData()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var rows int64
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		cfg := DefaultConfig()
		cfg.Path = filepath.Join(b.TempDir(), "bench.duckdb")
		if flushRows > 0 {
			cfg.FlushRows = flushRows
		}
		s, err := Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		useLoader(b, s, ld)
		cpu0 := cpuTime()
		b.StartTimer()

		tx, err := s.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.BeginObject(ctx, fileObject("/bench.log", 1)); err != nil {
			b.Fatal(err)
		}
		var n int64
		for _, bt := range batches {
			if err := tx.Append(ctx, bt); err != nil {
				b.Fatal(err)
			}
			n += int64(bt.N)
		}
		if err := tx.EndObject(ctx, store.Result{Records: n}); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - cpu0
		b.StartTimer()
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "records/s")
	// CPU time (all threads) says more than wall time on a shared machine:
	// records/s on N idle cores is at best N / (cpu-s/Mrec) million.
	b.ReportMetric(cpu.Seconds()/(float64(rows)/1e6), "cpu-s/Mrec")
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStage measures the Go side alone: copying batches into the stage.
func BenchmarkStage(b *testing.B) {
	batches := benchData()
	st := newStage()
	b.ReportAllocs()
	var rows int64
	for b.Loop() {
		st.reset()
		src := st.addSource("/bench.log")
		for _, bt := range batches {
			st.append(bt, src)
			rows += int64(bt.N)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "records/s")
}

// appenderLoader loads with duckdb-go's Appender, one AppendRow per row
// (benchmark only: slower than the default loaders).
type appenderLoader struct{}

func (appenderLoader) name() string                           { return "appender" }
func (appenderLoader) prepare(context.Context, *sql.DB) error { return nil }

func (appenderLoader) load(_ context.Context, conn *sql.Conn, st *stage, table string, ingestedAt int64) error {
	cols := partColumns(st)
	at := time.UnixMicro(ingestedAt).UTC()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return errors.New("not a DuckDB connection")
		}
		a, err := duckdb.NewAppenderWithColumns(c, "", "", table, cols)
		if err != nil {
			return err
		}
		row := make([]driver.Value, len(cols))
		for r := range st.n {
			j := 0
			for _, id := range st.used {
				sc := &st.cols[id]
				valid := sc.valid[r>>3]&(1<<(r&7)) != 0
				switch {
				case !valid:
					row[j] = nil
				case sc.typ == schema.Int32:
					row[j] = sc.i32[r]
				case sc.typ == schema.Int64 || sc.typ == schema.Time:
					row[j] = sc.i64[r]
				default:
					row[j] = sc.data[sc.offs[r]:sc.offs[r+1]]
				}
				j++
				if sc.typ == schema.IP {
					if valid {
						row[j] = sc.bin[16*r : 16*r+16]
					} else {
						row[j] = nil
					}
					j++
				}
			}
			row[j] = st.sources[st.src[r]]
			row[j+1] = at
			if err := a.AppendRow(row...); err != nil {
				a.Close()
				return err
			}
		}
		return a.Close()
	})
}

// parquetLoader writes the stage to a temporary Parquet file with
// parquet-go and inserts from DuckDB's read_parquet (benchmark only).
type parquetLoader struct{}

func (parquetLoader) name() string                           { return "parquet" }
func (parquetLoader) prepare(context.Context, *sql.DB) error { return nil }

func (parquetLoader) load(ctx context.Context, conn *sql.Conn, st *stage, table string, ingestedAt int64) error {
	cols := stageColumns(st)
	group := parquet.Group{}
	for _, id := range st.used {
		f := schema.Fields[id]
		switch f.Type {
		case schema.Int32:
			group[f.Column] = parquet.Optional(parquet.Int(32))
		case schema.Int64, schema.Time:
			group[f.Column] = parquet.Optional(parquet.Int(64))
		case schema.String:
			group[f.Column] = parquet.Optional(parquet.String())
		case schema.IP:
			group[f.Column] = parquet.Optional(parquet.String())
			group[f.Column+store.BinSuffix] = parquet.Optional(parquet.Leaf(parquet.FixedLenByteArrayType(16)))
		}
	}
	group[store.ColSource] = parquet.String()
	sch := parquet.NewSchema("flows", group)
	index := map[string]int{}
	for i, path := range sch.Columns() {
		index[path[0]] = i
	}

	dir, err := os.MkdirTemp("", "flowlens-parquet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "stage.parquet")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := parquet.NewWriter(f, sch)
	rows := make([]parquet.Row, 0, 1024)
	for r := range st.n {
		row := make(parquet.Row, len(cols))
		for _, id := range st.used {
			sc := &st.cols[id]
			name := schema.Fields[id].Column
			ci := index[name]
			if sc.valid[r>>3]&(1<<(r&7)) == 0 {
				row[ci] = parquet.Value{}.Level(0, 0, ci)
				if sc.typ == schema.IP {
					bi := index[name+store.BinSuffix]
					row[bi] = parquet.Value{}.Level(0, 0, bi)
				}
				continue
			}
			switch sc.typ {
			case schema.Int32:
				row[ci] = parquet.Int32Value(sc.i32[r]).Level(0, 1, ci)
			case schema.Int64, schema.Time:
				row[ci] = parquet.Int64Value(sc.i64[r]).Level(0, 1, ci)
			default:
				row[ci] = parquet.ByteArrayValue(sc.data[sc.offs[r]:sc.offs[r+1]]).Level(0, 1, ci)
			}
			if sc.typ == schema.IP {
				bi := index[name+store.BinSuffix]
				row[bi] = parquet.FixedLenByteArrayValue(sc.bin[16*r:16*r+16]).Level(0, 1, bi)
			}
		}
		si := index[store.ColSource]
		row[si] = parquet.ByteArrayValue([]byte(st.sources[st.src[r]])).Level(0, 0, si)
		rows = append(rows, row)
		if len(rows) == cap(rows) || r == st.n-1 {
			if _, err := w.WriteRows(rows); err != nil {
				f.Close()
				return err
			}
			rows = rows[:0]
		}
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	from := "read_parquet('" + strings.ReplaceAll(path, "'", "''") + "')"
	_, err = conn.ExecContext(ctx, insertSQL(table, cols, from), ingestedAt)
	return err
}

// BenchmarkCIDRFilter counts 1M stored records in a /16 through the binary
// form (the filter language's contract) and, for comparison, through a
// prefix match on the text form.
func BenchmarkCIDRFilter(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(b.TempDir(), "bench.duckdb")
	s, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ingest(b, s, []store.Object{fileObject("/bench.log", 1)}, [][]*flowlog.Batch{benchData()})
	lo, hi := store.PrefixRange(netip.MustParsePrefix("10.3.0.0/16"))
	queries := []struct {
		name string
		sql  string
		args []any
	}{
		{"bin-between", "SELECT count(*) FROM flows WHERE srcaddr_bin BETWEEN ? AND ?", []any{lo[:], hi[:]}},
		{"text-prefix", "SELECT count(*) FROM flows WHERE starts_with(srcaddr, '10.3.')", nil},
	}
	var want int64 = -1
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n := count(b, s, q.sql, q.args...)
				if want >= 0 && n != want {
					b.Fatalf("%d rows, the other query found %d", n, want)
				}
				want = n
			}
		})
	}
}
