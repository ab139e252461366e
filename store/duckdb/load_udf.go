package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
)

// udfLoader exposes the stage as a table function whose DuckDB threads fill
// data chunks vector by vector (duckdb-go's chunk API, the closest it has to
// a vector-level appender), then runs `INSERT INTO <part> SELECT ... FROM`
// it. The function finds the stage in the statement's context.
type udfLoader struct{}

// udfName is the table function's name.
const udfName = "flowlens_stage_rows"

type stageCtxKey struct{}

func (udfLoader) name() string { return "chunk-udf" }

func (udfLoader) prepare(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	fn := duckdb.ParallelChunkTableFunction{
		BindArgumentsContext: func(ctx context.Context, _ map[string]any, _ ...any) (duckdb.ParallelChunkTableSource, error) {
			st, ok := ctx.Value(stageCtxKey{}).(*stage)
			if !ok {
				return nil, errors.New(udfName + " is internal to flowlens ingest")
			}
			return newStageSource(st)
		},
	}
	if err := duckdb.RegisterTableUDF(conn, udfName, fn); err != nil {
		return fmt.Errorf("register %s: %w", udfName, err)
	}
	return nil
}

func (udfLoader) load(ctx context.Context, conn *sql.Conn, st *stage, table string, ingestedAt int64) error {
	ctx = context.WithValue(ctx, stageCtxKey{}, st)
	_, err := conn.ExecContext(ctx, insertSQL(table, stageColumns(st), udfName+"()"), ingestedAt)
	return err
}

// stageSource is the table function's view of a stage.
type stageSource struct {
	st    *stage
	infos []duckdb.ColumnInfo
	outs  []udfCol
	next  atomic.Int64 // first row not yet claimed by a thread
}

// udfCol is one output column: field id and whether it is an IP's _bin.
type udfCol struct {
	id  int // -1: source
	bin bool
}

func newStageSource(st *stage) (*stageSource, error) {
	s := &stageSource{st: st}
	add := func(name string, t duckdb.Type, c udfCol) error {
		ti, err := duckdb.NewTypeInfo(t)
		if err != nil {
			return err
		}
		s.infos = append(s.infos, duckdb.ColumnInfo{Name: name, T: ti})
		s.outs = append(s.outs, c)
		return nil
	}
	for _, id := range st.used {
		f := schema.Col(id)
		var err error
		switch f.Type {
		case schema.Int32:
			err = add(f.Column, duckdb.TYPE_INTEGER, udfCol{id: id})
		case schema.Bool:
			err = add(f.Column, duckdb.TYPE_BOOLEAN, udfCol{id: id})
		case schema.Int64, schema.Time:
			err = add(f.Column, duckdb.TYPE_BIGINT, udfCol{id: id})
		case schema.String:
			err = add(f.Column, duckdb.TYPE_VARCHAR, udfCol{id: id})
		case schema.IP:
			err = add(f.Column, duckdb.TYPE_VARCHAR, udfCol{id: id})
			if err == nil {
				err = add(f.Column+store.BinSuffix, duckdb.TYPE_BLOB, udfCol{id: id, bin: true})
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if err := add(store.ColSource, duckdb.TYPE_VARCHAR, udfCol{id: -1}); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *stageSource) ColumnInfos() []duckdb.ColumnInfo { return s.infos }

func (s *stageSource) Cardinality() *duckdb.CardinalityInfo {
	return &duckdb.CardinalityInfo{Cardinality: uint(s.st.n), Exact: true}
}

func (s *stageSource) Init() duckdb.ParallelTableSourceInfo {
	return duckdb.ParallelTableSourceInfo{}
}

func (s *stageSource) NewLocalState() any { return new(struct{}) }

// FillChunk claims the next run of rows and writes them column by column.
func (s *stageSource) FillChunk(_ any, chunk duckdb.DataChunk) error {
	size := duckdb.GetDataChunkCapacity()
	a := int(s.next.Add(int64(size))) - size
	b := min(a+size, s.st.n)
	if a >= b {
		return chunk.SetSize(0)
	}
	for j, o := range s.outs {
		if err := s.fillColumn(chunk, j, o, a, b); err != nil {
			return err
		}
	}
	return chunk.SetSize(b - a)
}

func (s *stageSource) fillColumn(chunk duckdb.DataChunk, j int, o udfCol, a, b int) error {
	var err error
	if o.id < 0 {
		for r := a; r < b && err == nil; r++ {
			err = duckdb.SetChunkValue(chunk, j, r-a, s.st.sources[s.st.src[r]])
		}
		return err
	}
	c := &s.st.cols[o.id]
	for r := a; r < b && err == nil; r++ {
		if c.valid[r>>3]&(1<<(r&7)) == 0 {
			err = chunk.SetValue(j, r-a, nil)
			continue
		}
		switch {
		case o.bin:
			err = duckdb.SetChunkValue(chunk, j, r-a, c.bin[16*r:16*r+16])
		case c.typ == schema.Int32:
			err = duckdb.SetChunkValue(chunk, j, r-a, c.i32[r])
		case c.typ == schema.Bool:
			err = duckdb.SetChunkValue(chunk, j, r-a, c.i32[r] != 0)
		case c.typ == schema.Int64 || c.typ == schema.Time:
			err = duckdb.SetChunkValue(chunk, j, r-a, c.i64[r])
		default:
			err = duckdb.SetChunkValue(chunk, j, r-a, c.data[c.offs[r]:c.offs[r+1]])
		}
	}
	return err
}
