package filter

import (
	"errors"
	"strings"
	"testing"
)

// FuzzCompile checks that Compile never panics, that its errors are
// *Error with a position inside the input, and that a compiled filter
// renders SQL with one placeholder per argument, evaluates the sample rows
// without panicking, and prints to a form that compiles to the same SQL.
func FuzzCompile(f *testing.F) {
	for _, c := range goldenCases {
		f.Add(c.filter)
	}
	for _, s := range []string{
		"", "(", ")", "((tcp)", "not", "dstport in (", "src in 1.2.3.4..", "a..b", "'", `"\`,
		"port in (1..2, 3..4, 5)", "addr not in (::/0, 0.0.0.0/0)", "start = 2024-01-01T00:00:00.5Z",
	} {
		f.Add(s)
	}
	fs := testFields(f)
	b := parseSample(f)
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile(src, fs)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Compile(%q) error %T %v, want *Error", src, err, err)
			}
			if fe.Pos < 1 || fe.Pos > len([]rune(src))+1 {
				t.Fatalf("Compile(%q): position %d outside the input", src, fe.Pos)
			}
			_ = fe.Error()
			return
		}
		sql, args := e.SQL(DuckDB{})
		if n := strings.Count(sql, "?"); n != len(args) {
			t.Fatalf("Compile(%q): %d placeholders, %d args: %s", src, n, len(args), sql)
		}
		for i := range b.N {
			e.Eval(b, i)
		}
		norm := e.String()
		e2, err := Compile(norm, fs)
		if err != nil {
			t.Fatalf("Compile(%q).String() = %q does not compile: %v", src, norm, err)
		}
		if sql2, _ := e2.SQL(DuckDB{}); sql2 != sql {
			t.Fatalf("round trip of %q via %q changed the SQL:\n%s\n%s", src, norm, sql, sql2)
		}
	})
}
