package filter

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLookup(t *testing.T) {
	fs := testFields(t)
	cases := []struct {
		name, in   string
		wantColumn string // "" when not found
		wantType   Type
	}{
		{"token", "log-status", "log_status", TypeString},
		{"column", "pkt_srcaddr", "pkt_srcaddr", TypeIP},
		{"case", "DstPort", "dstport", TypeInt32},
		{"dashed-variant", "dst-port", "dstport", TypeInt32},
		{"underscored-variant", "pkt_src_addr", "pkt_srcaddr", TypeIP},
		{"int64", "bytes", "bytes", TypeInt64},
		{"time", "start", "start", TypeTime},
		{"single-alias", "src", "srcaddr", TypeIP},
		{"alias-case", "DPORT", "dstport", TypeInt32},
		{"extra-name", "src.internal", "src_internal", TypeBool},
		{"extra-column", "dst_entity_type", "dst_entity_type", TypeString},
		{"extra-variant", "src-internal", "src_internal", TypeBool},
		{"pair-is-not-a-field", "addr", "", 0},
		{"word-is-not-a-field", "tcp", "", 0},
		{"unknown", "nope", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, ok := fs.Lookup(c.in)
			if c.wantColumn == "" {
				if ok {
					t.Fatalf("Lookup(%q) = %+v, want not found", c.in, f)
				}
				return
			}
			if !ok {
				t.Fatalf("Lookup(%q) not found", c.in)
			}
			if diff := cmp.Diff([]any{c.wantColumn, c.wantType}, []any{f.Column, f.Type}); diff != "" {
				t.Errorf("Lookup(%q) (-want +got):\n%s", c.in, diff)
			}
		})
	}
}

func TestFieldsRegistrationErrors(t *testing.T) {
	cases := []struct {
		name    string
		build   func(fs *Fields) error
		wantErr string
	}{
		{"name-taken", func(fs *Fields) error {
			return fs.Add(Field{Name: "dstport", Column: "x", Type: TypeInt32, ID: -1})
		}, `filter: field "dstport": name "dstport" is already in use`},
		{"column-taken", func(fs *Fields) error {
			return fs.Add(Field{Name: "x", Column: "bytes", Type: TypeInt64, ID: -1})
		}, `filter: field "x": name "bytes" is already in use`},
		{"keyword", func(fs *Fields) error {
			return fs.Add(Field{Name: "null", Column: "x", Type: TypeInt64, ID: -1})
		}, `filter: field "null": name "null" is already in use`},
		{"word-taken", func(fs *Fields) error {
			return fs.Add(Field{Name: "TCP", Column: "x", Type: TypeBool, ID: -1})
		}, `filter: field "TCP": name "tcp" is already in use`},
		{"missing-column", func(fs *Fields) error {
			return fs.Add(Field{Name: "x", Type: TypeBool, ID: -1})
		}, `filter: field "x": name and column are required`},
		{"bad-id", func(fs *Fields) error {
			return fs.Add(Field{Name: "x", Column: "x", Type: TypeBool, ID: 10000})
		}, `filter: field "x": ID 10000 is not a field ID or -1`},
		{"alias-unknown-target", func(fs *Fields) error { return fs.Alias("peer", "nope") }, `filter: alias "peer": unknown field "nope"`},
		{"alias-types-differ", func(fs *Fields) error { return fs.Alias("mixed", "srcaddr", "dstport") },
			`filter: alias "mixed": fields srcaddr and dstport have different types`},
		{"alias-arity", func(fs *Fields) error { return fs.Alias("three", "srcport", "dstport", "srcport") },
			`filter: alias "three": one or two target fields are needed`},
		{"alias-taken", func(fs *Fields) error { return fs.Alias("src", "dstaddr") }, `filter: alias "src": name is already in use`},
		{"word-keyword", func(fs *Fields) error { return fs.AddWord("and", "action", "ACCEPT") }, `filter: word "and": name is already in use`},
		{"word-unknown-field", func(fs *Fields) error { return fs.AddWord("ssh", "nope", "22") }, `filter: word "ssh": unknown field "nope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, err := NewFields()
			if err != nil {
				t.Fatal(err)
			}
			err = c.build(fs)
			if err == nil {
				t.Fatalf("no error, want %q", c.wantErr)
			}
			if diff := cmp.Diff(c.wantErr, err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestCustomAliasAndWord registers the kind of names enrichment adds and
// checks they compile like the built-in ones.
func TestCustomAliasAndWord(t *testing.T) {
	fs := testFields(t)
	if err := fs.Alias("internal", "src.internal", "dst.internal"); err != nil {
		t.Fatal(err)
	}
	if err := fs.AddWord("ssh", "dstport", "22"); err != nil {
		t.Fatal(err)
	}
	e, err := Compile("ssh and internal != true", fs)
	if err != nil {
		t.Fatal(err)
	}
	sql, args := e.SQL(DuckDB{})
	want := `("dstport" = ? AND NOT ("src_internal" = ? OR "dst_internal" = ?))`
	if diff := cmp.Diff(want, sql); diff != "" {
		t.Errorf("SQL (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{int64(22), true, true}, args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if got := e.String(); got != "dstport = 22 and internal != true" {
		t.Errorf("String() = %q", got)
	}
}

func TestNamesAndSuggestions(t *testing.T) {
	fs := Catalog()
	names := fs.Names()
	for _, want := range []string{"addr", "dstport", "log-status", "log_status", "port", "reject", "tcp"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("Names() lacks %q", want)
		}
	}
	cases := []struct{ in, want string }{
		{"dstprot", "dstport"},
		{"scraddr", "srcaddr"},
		{"Acton", "action"},
		{"logstatus", "log-status"},
		{"rejekt", "reject"},
		{"completely-different-thing", ""},
	}
	for _, c := range cases {
		if got := fs.suggest(c.in); got != c.want {
			t.Errorf("suggest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestAppendSQLNumbering checks that placeholders continue after earlier
// arguments for dialects that number them.
func TestAppendSQLNumbering(t *testing.T) {
	e, err := Compile("port in (22, 1000..2000) and src = 10.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	sql, args := e.AppendSQL(numbered{}, []any{"earlier"})
	want := `((("srcport" = $2 OR "srcport" BETWEEN $3 AND $4) OR ("dstport" = $5 OR "dstport" BETWEEN $6 AND $7)) AND "srcaddr_bin" = $8)`
	if diff := cmp.Diff(want, sql); diff != "" {
		t.Errorf("SQL (-want +got):\n%s", diff)
	}
	if len(args) != 8 || args[0] != "earlier" {
		t.Errorf("args = %v", args)
	}
	if n := strings.Count(sql, "$"); n != len(args)-1 {
		t.Errorf("%d placeholders for %d new args", n, len(args)-1)
	}
}

// numbered is DuckDB with $n placeholders.
type numbered struct{ DuckDB }

func (numbered) Placeholder(n int) string { return "$" + strconv.Itoa(n) }
