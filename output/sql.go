package output

import (
	"database/sql"
	"fmt"

	"github.com/flowlens/flowlens/schema"
)

// SQLColumns describes the columns of a database/sql result. Types come
// from DatabaseType; an integer column named like a catalog time field
// (start, end) becomes TypeEpoch so tables show it as a time.
func SQLColumns(rows *sql.Rows) ([]Column, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("output: result columns: %w", err)
	}
	cols := make([]Column, len(cts))
	for i, ct := range cts {
		t := DatabaseType(ct.DatabaseTypeName())
		if f, ok := schema.Lookup(ct.Name()); ok && f.Column == ct.Name() && f.Type == schema.Time &&
			(t == TypeInt || t == TypeInt32) {
			t = TypeEpoch
		}
		cols[i] = Column{Name: ct.Name(), Type: t}
	}
	return cols, nil
}

// CopySQL writes every remaining row of rows to w and returns how many it
// wrote. It closes neither rows nor w; the caller closes w to finish the
// document. Values are scanned as the driver provides them.
func CopySQL(w ResultWriter, rows *sql.Rows) (int64, error) {
	names, err := rows.Columns()
	if err != nil {
		return 0, fmt.Errorf("output: result columns: %w", err)
	}
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("output: row %d: %w", n+1, err)
		}
		if err := w.WriteRow(vals); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("output: reading rows: %w", err)
	}
	return n, nil
}
