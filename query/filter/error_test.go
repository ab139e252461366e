package filter

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompileErrors(t *testing.T) {
	fs := testFields(t)
	cases := []struct {
		name, filter string
		want         Error // Input is filled in from filter
	}{
		{"empty", "", Error{Pos: 1, Msg: "empty filter"}},
		{"blank", "   ", Error{Pos: 4, Msg: "empty filter"}},
		{"stray-rparen", "dstport = 22 )", Error{Pos: 14, Msg: `unexpected ")"`}},
		{"unclosed-paren", "(tcp or udp", Error{Pos: 12, Msg: `unexpected end of filter, expected ")" to close the "(" at position 1`}},
		{"missing-value", "dstport =", Error{Pos: 10, Msg: `unexpected end of filter, expected a value after "="`}},
		{"keyword-as-value", "dstport = and tcp", Error{Pos: 11, Msg: `unexpected "and", expected a value`}},
		{"missing-operator", "dstport 22", Error{Pos: 9, Msg: `unexpected "22", expected an operator (= != < <= > >= in) after "dstport"`}},
		{"missing-operator-eof", "dstport", Error{Pos: 8, Msg: `unexpected end of filter, expected an operator (= != < <= > >= in) after "dstport"`}},
		{"missing-and", "tcp dstport = 22", Error{Pos: 5, Msg: `unexpected "dstport", expected "and", "or" or the end of the filter`}},
		{"dangling-and", "tcp and", Error{Pos: 8, Msg: "unexpected end of filter, expected a field name"}},
		{"leading-or", "or tcp", Error{Pos: 1, Msg: `unexpected "or", expected a field name`}},
		{"value-first", `"tcp"`, Error{Pos: 1, Msg: `unexpected string "tcp", expected a field name`}},
		{"unknown-field-suggest", "dstprot = 22", Error{Pos: 1, Msg: `unknown field "dstprot"`, Hint: `did you mean "dstport"?`}},
		{"unknown-field-suggest-later", "tcp and srcadr = 1.2.3.4", Error{Pos: 9, Msg: `unknown field "srcadr"`, Hint: `did you mean "srcaddr"?`}},
		{"unknown-field-no-suggestion", "zzzzzzzzzz = 1", Error{Pos: 1, Msg: `unknown field "zzzzzzzzzz"`, Hint: "flowlens fields lists the fields"}},
		{"unknown-bare-word", "tcp and rejected", Error{Pos: 9, Msg: `unknown field "rejected"`, Hint: `did you mean "reject"?`}},
		{"word-compared", "tcp = 1", Error{Pos: 1, Msg: `"tcp" is a shorthand for protocol = 6, not a field`}},
		{"bang", "!tcp", Error{Pos: 1, Msg: `unexpected "!" (use "not" or "!=")`}},
		{"unterminated-string", `action = "REJECT`, Error{Pos: 10, Msg: "unterminated string"}},
		{"bad-int", "dstport = ssh", Error{Pos: 11, Msg: `invalid number "ssh" for dstport`}},
		{"dash-range", "dstport in 1000-2000", Error{Pos: 12, Msg: `invalid number "1000-2000" for dstport`, Hint: "write a range as 1000..2000"}},
		{"int32-range", "dstport = 4294967296", Error{Pos: 11, Msg: "number 4294967296 is out of range for dstport (32-bit)"}},
		{"int64-range", "bytes > 99999999999999999999", Error{Pos: 9, Msg: "number 99999999999999999999 is out of range for bytes"}},
		{"empty-range", "dstport in 2000..1000", Error{Pos: 12, Msg: "empty range 2000..1000 (the first bound is above the last)"}},
		{"range-with-lt", "dstport < 1..3", Error{Pos: 11, Msg: `a range cannot be compared with "<"`, Hint: "use in, = or !="}},
		{"prefix-with-gt", "src > 10.0.0.0/8", Error{Pos: 7, Msg: `a network prefix cannot be compared with ">"`, Hint: "use in, = or !="}},
		{"bad-ip", "src = 10.0.0.256", Error{Pos: 7, Msg: `invalid IP address "10.0.0.256" for srcaddr`}},
		{"ip-zone", "src = fe80::1%eth0", Error{Pos: 7, Msg: `invalid IP address "fe80::1%eth0" for srcaddr`}},
		{"bad-prefix", "src in 10.0.0.0/33", Error{Pos: 8, Msg: `invalid network prefix "10.0.0.0/33" for srcaddr`}},
		{"mixed-family-range", "src in 10.0.0.1..::5", Error{Pos: 8, Msg: "range 10.0.0.1..::5 mixes IPv4 and IPv6"}},
		{"bad-time", "start > yesterday", Error{Pos: 9, Msg: `invalid time "yesterday" for start`,
			Hint: "use epoch seconds, RFC 3339 (2024-05-01T12:00:00Z) or a date (2024-05-01)"}},
		{"null-order", "dstport < null", Error{Pos: 11, Msg: "null can only be compared with = or !="}},
		{"null-in-list", "dstport in (22, null)", Error{Pos: 17, Msg: "null cannot be in a list", Hint: "use dstport = null"}},
		{"empty-list", "dstport in ()", Error{Pos: 13, Msg: "empty list"}},
		{"list-missing-comma", "dstport in (22 80)", Error{Pos: 16, Msg: `unexpected "80", expected "," or ")"`}},
		{"list-trailing-comma", "dstport in (22,)", Error{Pos: 16, Msg: `unexpected ")", expected a value`}},
		{"in-without-value", "dstport in", Error{Pos: 11, Msg: `unexpected end of filter, expected a value or a list in parentheses after "in"`}},
		{"not-without-in", "dstport not 22", Error{Pos: 9, Msg: `unexpected "not", expected an operator (= != < <= > >= in) after "dstport"`}},
		{"bool-value", "src.internal = maybe", Error{Pos: 16, Msg: `src.internal is a boolean: expected true or false, not "maybe"`}},
		{"unicode-position", "interface-id = 'é' )", Error{Pos: 20, Msg: `unexpected ")"`}},
		{"invalid-utf8", "dstport = \xff", Error{Pos: 11, Msg: "invalid UTF-8"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.filter, fs)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Compile(%q) = %v, want a *filter.Error", c.filter, err)
			}
			want := c.want
			want.Input = c.filter
			if diff := cmp.Diff(&want, fe); diff != "" {
				t.Errorf("Compile(%q) (-want +got):\n%s", c.filter, diff)
			}
		})
	}
}

func TestErrorRendering(t *testing.T) {
	cases := []struct {
		name string
		err  Error
		want string
	}{
		{
			name: "caret",
			err:  Error{Pos: 14, Msg: `unexpected ")"`, Input: "dstport = 22 )"},
			want: "filter: unexpected \")\" at position 14\n  dstport = 22 )\n               ^",
		},
		{
			name: "hint",
			err:  Error{Pos: 1, Msg: `unknown field "dstprot"`, Hint: `did you mean "dstport"?`, Input: "dstprot = 22"},
			want: "filter: unknown field \"dstprot\" at position 1 (did you mean \"dstport\"?)\n  dstprot = 22\n  ^",
		},
		{
			name: "end-of-input",
			err:  Error{Pos: 10, Msg: "unexpected end of filter", Input: "dstport ="},
			want: "filter: unexpected end of filter at position 10\n  dstport =\n           ^",
		},
		{
			name: "tabs-kept",
			err:  Error{Pos: 3, Msg: "x", Input: "\t\ta"},
			want: "filter: x at position 3\n  \t\ta\n  \t\t^",
		},
		{
			name: "multi-line-shows-the-line",
			err:  Error{Pos: 9, Msg: "x", Input: "tcp and\nfoo = 1"},
			want: "filter: x at position 9\n  foo = 1\n  ^",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, c.err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
