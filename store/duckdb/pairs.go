package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/flowlens/flowlens/query/top"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
)

// Pair totals (store.PairTotals). flows_pairs holds partial totals per
// srcaddr,dstaddr pair, written in the ingest transaction that changes the
// rows they sum:
//   - an ingest adds one row per pair of its records, aggregated as the
//     batches are appended;
//   - deleting an object's rows (a changed object replaced, an aborted one
//     dropped) first adds the negated totals of those rows;
//   - when the table has grown well past its size after the last
//     compaction, a commit compacts it to one row per pair, dropping pairs
//     whose flows sum to 0.
// So the sums over flows_pairs always equal the sums over flows. In-memory
// stores (ad-hoc queries) do not keep them.

const (
	pairsTable      = "flows_pairs"
	pairsStateTable = "flows_pairs_state"
)

// pairsSlack is how many rows flows_pairs may grow beyond twice its size
// after the last compaction before a commit compacts it.
var pairsSlack int64 = 1 << 17

// pairKeys are the key fields of the totals.
var pairKeys = []int{schema.FSrcAddr, schema.FDstAddr}

// totalsOf is the SELECT list of the totals of rows with the given columns
// (a part may lack any of them), negated when neg.
func totalsOf(cols []string, neg bool) string {
	has := map[string]bool{}
	for _, c := range cols {
		has[c] = true
	}
	col := func(name, missing string) string {
		if has[name] {
			return ident(name)
		}
		return missing
	}
	sign := ""
	if neg {
		sign = "-"
	}
	return fmt.Sprintf("%s, %s, %scount(*), %scoalesce(sum(%s), 0), %scoalesce(sum(%s), 0)",
		col("srcaddr", "NULL::VARCHAR"), col("dstaddr", "NULL::VARCHAR"),
		sign, sign, col("packets", "NULL::BIGINT"), sign, col("bytes", "NULL::BIGINT"))
}

// pairsMigration creates the totals and fills them from the stored rows.
var pairsMigration = migration{2, []string{
	`CREATE TABLE ` + pairsTable + ` (
  srcaddr VARCHAR,
  dstaddr VARCHAR,
  flows   BIGINT NOT NULL,
  packets BIGINT NOT NULL,
  bytes   BIGINT NOT NULL
)`,
	`INSERT INTO ` + pairsTable + ` SELECT ` + totalsOf([]string{"srcaddr", "dstaddr", "packets", "bytes"}, false) +
		` FROM ` + store.Table + ` GROUP BY ALL`,
	`CREATE TABLE ` + pairsStateTable + ` (compacted_rows BIGINT NOT NULL)`,
	`INSERT INTO ` + pairsStateTable + ` SELECT count(*) FROM ` + pairsTable,
}}

// PairTotals implements store.PairTotals.
func (s *Store) PairTotals() (string, bool) {
	return pairsTable, s.keepsPairs()
}

// keepsPairs reports whether the store keeps pair totals: databases on
// disk at schema version 2 or later.
func (s *Store) keepsPairs() bool { return s.path != "" && s.version >= pairsMigration.version }

// subtractPairs adds the negated totals of id's rows in part p.
func (t *tx) subtractPairs(ctx context.Context, p part, id string) error {
	if t.pairs == nil {
		return nil
	}
	_, err := t.conn.ExecContext(ctx, `INSERT INTO `+pairsTable+` SELECT `+totalsOf(p.columns, true)+
		` FROM `+p.table()+` WHERE `+ident(store.ColSource)+` = ? GROUP BY ALL`, id)
	return err
}

// writePairs appends the totals of the rows this transaction added, then
// compacts the table if it has grown enough.
func (t *tx) writePairs(ctx context.Context) error {
	if t.pairs == nil {
		return nil
	}
	var before, base int64
	if err := t.conn.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM `+pairsTable+`), (SELECT compacted_rows FROM `+pairsStateTable+`)`).Scan(&before, &base); err != nil {
		return err
	}
	rows := before
	err := t.conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return errors.New("not a DuckDB connection")
		}
		app, err := duckdb.NewAppenderFromConn(c, "", pairsTable)
		if err != nil {
			return err
		}
		t.pairs.Each(func(r top.Row) {
			if err == nil {
				err = app.AppendRow(r.Keys[0], r.Keys[1], r.Flows, r.Packets, r.Bytes)
				rows++
			}
		})
		return errors.Join(err, app.Close())
	})
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if before == 0 {
		// The rows just appended are one per pair: nothing to compact.
		_, err := t.conn.ExecContext(ctx, `UPDATE `+pairsStateTable+` SET compacted_rows = ?`, rows)
		return err
	}
	if rows <= 2*base+pairsSlack {
		return nil
	}
	var sum strings.Builder
	for _, c := range []string{"flows", "packets", "bytes"} {
		fmt.Fprintf(&sum, ", CAST(sum(%[1]s) AS BIGINT) AS %[1]s", c)
	}
	for _, q := range []string{
		`CREATE OR REPLACE TABLE ` + pairsTable + ` AS SELECT srcaddr, dstaddr` + sum.String() +
			` FROM ` + pairsTable + ` GROUP BY ALL HAVING sum(flows) <> 0`,
		`UPDATE ` + pairsStateTable + ` SET compacted_rows = (SELECT count(*) FROM ` + pairsTable + `)`,
	} {
		if _, err := t.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("compact: %w", err)
		}
	}
	return nil
}
