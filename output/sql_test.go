package output

import (
	"bytes"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A minimal database/sql driver serving one fixed result, so the SQL
// helpers are tested without a database engine.

type fakeResult struct {
	names, types []string
	rows         [][]driver.Value
	err          error // returned after the rows
}

var (
	fakeOnce    sync.Once
	fakeMu      sync.Mutex
	fakeResults = map[string]*fakeResult{}
)

type fakeDriver struct{}

func (fakeDriver) Open(name string) (driver.Conn, error) { return fakeConn{name}, nil }

type fakeConn struct{ name string }

func (c fakeConn) Prepare(string) (driver.Stmt, error) { return fakeStmt(c), nil }
func (fakeConn) Close() error                          { return nil }
func (fakeConn) Begin() (driver.Tx, error)             { return nil, errors.New("no transactions") }

type fakeStmt struct{ name string }

func (fakeStmt) Close() error                               { return nil }
func (fakeStmt) NumInput() int                              { return -1 }
func (fakeStmt) Exec([]driver.Value) (driver.Result, error) { return nil, errors.New("no exec") }
func (s fakeStmt) Query([]driver.Value) (driver.Rows, error) {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	return &fakeRows{res: fakeResults[s.name]}, nil
}

type fakeRows struct {
	res *fakeResult
	i   int
	buf []byte // reused between rows, as drivers may do
}

func (r *fakeRows) Columns() []string { return r.res.names }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) ColumnTypeDatabaseTypeName(i int) string {
	return r.res.types[i]
}
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.i >= len(r.res.rows) {
		if r.res.err != nil {
			return r.res.err
		}
		return io.EOF
	}
	for j, v := range r.res.rows[r.i] {
		if b, ok := v.([]byte); ok {
			r.buf = append(r.buf[:0], b...)
			v = r.buf
		}
		dest[j] = v
	}
	r.i++
	return nil
}

func openFake(t *testing.T, res *fakeResult) *sql.Rows {
	t.Helper()
	fakeOnce.Do(func() { sql.Register("output-fake", fakeDriver{}) })
	fakeMu.Lock()
	fakeResults[t.Name()] = res
	fakeMu.Unlock()
	db, err := sql.Open("output-fake", t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rows, err := db.Query("select")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rows.Close() })
	return rows
}

func TestSQLColumnsAndCopy(t *testing.T) {
	rows := openFake(t, &fakeResult{
		names: []string{"srcaddr", "start", "flows", "bytes", "first", "raw"},
		types: []string{"VARCHAR", "BIGINT", "BIGINT", "HUGEINT", "TIMESTAMP", "BLOB"},
		rows: [][]driver.Value{
			{"10.0.0.1", int64(1620000000), int64(3), int64(900), time.Date(2021, 5, 3, 0, 0, 0, 0, time.UTC), []byte("ab")},
			{nil, nil, int64(1), nil, nil, []byte("cd")},
		},
	})
	cols, err := SQLColumns(rows)
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []Column{
		{Name: "srcaddr", Type: TypeString},
		{Name: "start", Type: TypeEpoch},
		{Name: "flows", Type: TypeInt},
		{Name: "bytes", Type: TypeBigInt},
		{Name: "first", Type: TypeTime},
		{Name: "raw", Type: TypeBytes},
	}
	if diff := cmp.Diff(wantCols, cols); diff != "" {
		t.Errorf("SQLColumns (-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	w, err := NewResultWriter(CSV, &buf, cols)
	if err != nil {
		t.Fatal(err)
	}
	n, err := CopySQL(w, rows)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "srcaddr,start,flows,bytes,first,raw\n" +
		"10.0.0.1,1620000000,3,900,2021-05-03T00:00:00Z,ab\n" +
		",,1,,,cd\n"
	if n != 2 || buf.String() != want {
		t.Errorf("CopySQL wrote %d rows:\n%s\nwant 2 rows:\n%s", n, buf.String(), want)
	}
}

func TestCopySQLError(t *testing.T) {
	boom := errors.New("boom")
	rows := openFake(t, &fakeResult{
		names: []string{"a"},
		types: []string{"INTEGER"},
		rows:  [][]driver.Value{{int64(1)}},
		err:   boom,
	})
	w, err := NewResultWriter(CSV, io.Discard, []Column{{Name: "a", Type: TypeInt32}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := CopySQL(w, rows)
	if !errors.Is(err, boom) || n != 1 {
		t.Errorf("CopySQL = %d, %v; want 1, an error wrapping %v", n, err, boom)
	}
}
