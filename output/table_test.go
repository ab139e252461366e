package output

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTableStreaming(t *testing.T) {
	cols := []Column{
		{Name: "name", Type: TypeString},
		{Name: "addr", Type: TypeIP},
		{Name: "n", Type: TypeInt},
		{Name: "note", Type: TypeString},
	}
	long := strings.Repeat("z", 100)
	rows := [][]any{
		{"a", netip.MustParseAddr("10.0.0.1"), int64(1), "x"},
		{"bb", netip.MustParseAddr("10.0.0.2"), int64(22), "y"},
		{"a-much-longer-name", netip.MustParseAddr("2001:db8::1"), int64(123456), long},
	}
	for _, tc := range []struct {
		name   string
		sample int
		want   []string
	}{
		{
			// The third row comes after the layout is fixed: its text is
			// cut, its address and number overflow, the last column is
			// printed whole.
			name:   "layout from the first two rows",
			sample: 2,
			want: []string{
				"name  addr       n  note",
				"----  --------  --  ----",
				"a     10.0.0.1   1  x",
				"bb    10.0.0.2  22  y",
				"a-m…  2001:db8::1  123456  " + long,
				"(3 rows)",
			},
		},
		{
			name:   "every row sampled",
			sample: 1000,
			want: []string{
				"name                addr              n  note",
				"------------------  -----------  ------  " + strings.Repeat("-", tableMaxWidth),
				"a                   10.0.0.1          1  x",
				"bb                  10.0.0.2         22  y",
				"a-much-longer-name  2001:db8::1  123456  " + long,
				"(3 rows)",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(n int) { tableSampleRows = n }(tableSampleRows)
			tableSampleRows = tc.sample
			var buf bytes.Buffer
			if err := (&Result{Columns: cols, Rows: rows}).Write(Table, &buf); err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTableCaps(t *testing.T) {
	long := strings.Repeat("é", 100)
	var buf bytes.Buffer
	r := &Result{
		Columns: []Column{{Name: "s"}, {Name: "last"}},
		Rows:    [][]any{{long, long}},
	}
	if err := r.Write(Table, &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	want := strings.Repeat("é", tableMaxWidth-1) + "…" + tableGap + long
	if lines[2] != want {
		t.Errorf("row = %q\nwant  %q", lines[2], want)
	}
}

func TestSanitize(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		width          int
	}{
		{"ascii", "abc", "abc", 3},
		{"newline and tab", "a\nb\tc", `a\nb\tc`, 7},
		{"escape sequence", "\x1b[2J", `\x1b[2J`, 7},
		{"delete", "\x7f", `\x7f`, 4},
		{"c1 control", "a\u0085b", `a\u0085b`, 8},
		{"invalid utf8", "a\xffb", `a\xffb`, 6},
		{"wide", "東京", "東京", 4},
		{"accent", "café", "café", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sanitize(nil, []byte(tc.in))
			if string(got) != tc.want {
				t.Errorf("sanitize(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if w := displayWidth(got); w != tc.width {
				t.Errorf("displayWidth(%q) = %d, want %d", got, w, tc.width)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  string
		wantW int
	}{
		{"abcdef", 4, "abc…", 4},
		{"東京都庁", 5, "東京…", 5},
		{"東京都庁", 4, "東…", 3},
		{"abc", 1, "…", 1},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, w := truncate([]byte(tc.in), tc.width)
			if string(got) != tc.want || w != tc.wantW {
				t.Errorf("truncate(%q, %d) = %q, %d; want %q, %d", tc.in, tc.width, got, w, tc.want, tc.wantW)
			}
		})
	}
}
