package duckdb

import (
	"context"
	"database/sql"
	"strings"

	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
)

// loader moves the rows of a stage into a part table, inside the
// transaction open on conn. It must be done with the stage's memory when it
// returns.
type loader interface {
	// name identifies the loader in benchmarks and messages.
	name() string
	// prepare runs once per store before the first load.
	prepare(ctx context.Context, db *sql.DB) error
	// load inserts st's rows into table, whose columns are
	// partColumns(st); ingestedAt is in epoch microseconds.
	load(ctx context.Context, conn *sql.Conn, st *stage, table string, ingestedAt int64) error
}

// stageColumns lists the columns a loader produces from st, in order: the
// staged fields (each IP followed by its _bin form), then source.
func stageColumns(st *stage) []string {
	cols := make([]string, 0, 2*len(st.used)+1)
	for _, id := range st.used {
		f := schema.Col(id)
		cols = append(cols, f.Column)
		if f.Type == schema.IP {
			cols = append(cols, f.Column+store.BinSuffix)
		}
	}
	return append(cols, store.ColSource)
}

// partColumns lists the columns of the part table that holds st's rows:
// stageColumns then ingested_at.
func partColumns(st *stage) []string {
	return append(stageColumns(st), store.ColIngestedAt)
}

// insertSQL returns the INSERT into table that copies cols from `from` and
// sets ingested_at from the one parameter (epoch microseconds). Every
// column of `from` is read, in order (the Arrow view needs that: see
// arrowLoader).
func insertSQL(table string, cols []string, from string) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + table + " (")
	for _, c := range cols {
		sb.WriteString(ident(c) + ", ")
	}
	sb.WriteString(ident(store.ColIngestedAt) + ") SELECT ")
	for _, c := range cols {
		sb.WriteString(ident(c) + ", ")
	}
	sb.WriteString("make_timestamp(?::BIGINT) FROM " + from)
	return sb.String()
}
