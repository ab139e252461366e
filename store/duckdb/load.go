package duckdb

import (
	"context"
	"database/sql"
	"strings"

	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
)

// loader moves the rows of a stage into the flows table, inside the
// transaction open on conn. It must be done with the stage's memory when it
// returns.
type loader interface {
	// name identifies the loader in benchmarks and messages.
	name() string
	// prepare runs once per store before the first load.
	prepare(ctx context.Context, db *sql.DB) error
	// load inserts st's rows; ingestedAt is in epoch microseconds.
	load(ctx context.Context, conn *sql.Conn, st *stage, ingestedAt int64) error
}

// stageColumns lists the flows columns a load of st fills from the stage,
// in the order the loaders produce them: the staged fields (each IP
// followed by its _bin form), then source.
func stageColumns(st *stage) []string {
	cols := make([]string, 0, 2*len(st.used)+1)
	for _, id := range st.used {
		f := schema.Fields[id]
		cols = append(cols, f.Column)
		if f.Type == schema.IP {
			cols = append(cols, f.Column+store.BinSuffix)
		}
	}
	return append(cols, store.ColSource)
}

// insertSQL returns the INSERT that copies cols from `from` and sets
// ingested_at from the one parameter (epoch microseconds).
func insertSQL(cols []string, from string) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + store.Table + " (")
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
