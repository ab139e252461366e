// Command duckrun runs SQL statements on a DuckDB database through the same
// Go binding flowlens uses, and prints the last statement's rows as TSV. The
// bench harness uses it for the DuckDB baselines (read_csv + GROUP BY) and
// to grow a large stored table.
//
//	duckrun DB|:memory: SQL...
package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: duckrun DB|:memory: SQL...")
		os.Exit(2)
	}
	dsn := os.Args[1]
	if dsn == ":memory:" {
		dsn = ""
	}
	db, err := sql.Open("duckdb", dsn+"?autoinstall_known_extensions=false&autoload_known_extensions=false")
	if err != nil {
		fail(err)
	}
	defer db.Close()
	stmts := os.Args[2:]
	for i, s := range stmts {
		if i < len(stmts)-1 {
			if _, err := db.Exec(s); err != nil {
				fail(err)
			}
			continue
		}
		rows, err := db.Query(s)
		if err != nil {
			fail(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				fail(err)
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				parts[i] = fmt.Sprint(v)
			}
			fmt.Println(strings.Join(parts, "\t"))
		}
		if err := rows.Err(); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "duckrun:", err)
	os.Exit(1)
}
