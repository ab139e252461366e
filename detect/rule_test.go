package detect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/intel"
)

const goodRule = `id: test-rule
title: Test
severity: low
filter: reject
group_by: [srcaddr, dst.entity]
measure: count_distinct dstport
threshold: 5
window: 10m
`

func TestParseGood(t *testing.T) {
	r, err := Parse("good.yaml", []byte(goodRule+"lateness: 2m\nsuppress: 1h\nbaseline: {windows: 6, factor: 2.5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"id": r.ID, "group_by": r.GroupBy, "measure": r.Measure.String(), "threshold": r.Threshold,
		"window": r.Window, "lateness": r.Lateness, "suppress": r.Suppress, "baseline": *r.Baseline, "line": r.Line,
		"filter": r.Expr.String(),
	}
	want := map[string]any{
		"id": "test-rule", "group_by": []string{"srcaddr", "dst_entity_type"}, "measure": "count_distinct dstport",
		"threshold": int64(5), "window": 10 * time.Minute, "lateness": 2 * time.Minute, "suppress": time.Hour,
		"baseline": Baseline{Windows: 6, Factor: 2.5, MinWindows: 6}, "line": 1, "filter": `action = "REJECT"`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rule (-want +got):\n%s", d)
	}
}

// TestParseErrors checks that every kind of mistake names the file, the
// line and the reason.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"yaml syntax", "id: x\ntitle: a: b\n", "bad.yaml:2: mapping values are not allowed in this context"},
		{"not a mapping", "- a\n- b\n", "bad.yaml:1: a rule is a mapping of keys (id, title, filter, ...)"},
		{"unknown key", goodRule + "treshold: 4\n", `bad.yaml:9: unknown key "treshold" (did you mean threshold?); a rule has id, title, severity, description, mitre, filter, group_by, measure, threshold, window, lateness, suppress, samples, skip_answers, baseline, new_key`},
		{"duplicate key", goodRule + "window: 5m\n", "bad.yaml:9: window: given twice (first on line 8)"},
		{"missing key", "id: x\ntitle: t\nseverity: low\nfilter: tcp\ngroup_by: srcaddr\nmeasure: count\nthreshold: 1\n", "bad.yaml:1: missing required key window"},
		{"bad severity", "severity: urgent\n", "bad.yaml:1: severity \"urgent\": want one of info, low, medium, high, critical"},
		{"bad id", "id: Port Scan\n", "bad.yaml:1: id \"Port Scan\": use lower-case letters, digits and '-' (at most 64)"},
		{"bad mitre", "mitre: 1046\n", "bad.yaml:1: mitre \"1046\": want an ATT&CK technique ID such as T1046 or T1110.001"},
		{"bad threshold", "id: x\nthreshold: many\n", `bad.yaml:2: threshold: want an integer >= 1, got "many"`},
		{"bad window", "window: 10 minutes\n", `bad.yaml:1: window: duration "10 minutes": want e.g. 30s, 10m, 1h or 7d`},
		{"bad skip_answers", "skip_answers: yes\n", `bad.yaml:1: skip_answers: want true or false, got "yes"`},
		{"bad measure", "measure: avg bytes\n", `bad.yaml:1: measure "avg bytes": want count, count_distinct FIELD, sum bytes or sum packets`},
		{"unknown key field", "group_by: [srcaddr, dstprot]\n", `bad.yaml:1: group_by: unknown field "dstprot"`},
		{"filter error", "id: x\nfilter: dstprt = 22\n", `bad.yaml:2: filter: unknown field "dstprt" at position 1 (did you mean "dstport"?)`},
		{"filter error in a block", "id: x\nfilter: |\n  tcp and\n  dstport = 22 and\n  action = maybe (\n", `bad.yaml:5: filter: unexpected "(", expected "and", "or" or the end of the filter at position 41`},
		{"baseline without factor", goodRule + "baseline: {windows: 3}\n", "bad.yaml:9: baseline: windows and factor are required"},
		{"baseline and new_key", goodRule + "baseline: {windows: 3, factor: 2}\nnew_key: {lookback: 1d}\n", "bad.yaml:10: baseline and new_key cannot be combined"},
		{"new_key shorter than window", goodRule + "new_key: {lookback: 1m}\n", "bad.yaml:9: new_key.lookback 1m0s is shorter than the window 10m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tc.yaml))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			if d := cmp.Diff(tc.want, err.Error()); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
		})
	}
}

// TestShippedRules checks the embedded set loads and every rule has a
// test file.
func TestShippedRules(t *testing.T) {
	rules, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) < 12 {
		t.Fatalf("%d shipped rules, want at least 12", len(rules))
	}
	for _, r := range rules {
		if _, err := shipped.Open("rules/tests/" + r.ID + ".yaml"); err != nil {
			t.Errorf("rule %s has no test file: %v", r.ID, err)
		}
		if r.Description == "" {
			t.Errorf("rule %s has no description", r.ID)
		}
	}
}

// FuzzParse checks that Parse never panics and that every error it
// returns is an *Error with a position inside the input.
func FuzzParse(f *testing.F) {
	f.Add([]byte(goodRule))
	f.Add([]byte(goodRule + "new_key: {lookback: 7d}\n"))
	f.Add([]byte("id: [\n"))
	f.Add([]byte("filter: |\n  a and (\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("fuzz.yaml", data)
		if err == nil {
			if r.Expr == nil || len(r.GroupBy) == 0 || r.Window <= 0 || r.Threshold < 1 {
				t.Fatalf("accepted an incomplete rule: %+v", r)
			}
			return
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("error %v is %T, not *Error", err, err)
		}
		lines := 1
		for i, c := range data {
			// YAML breaks lines at \n, \r\n and a lone \r.
			if c == '\n' || (c == '\r' && (i+1 == len(data) || data[i+1] != '\n')) {
				lines++
			}
		}
		if pe.Line < 0 || pe.Line > lines+1 {
			t.Fatalf("line %d outside a %d-line input: %v", pe.Line, lines, err)
		}
	})
}

func TestValidRuleID(t *testing.T) {
	long := strings.Repeat("a", 64)
	for id, want := range map[string]bool{
		"port-scan": true, "a": true, "0day": true, "a-": true, long: true,
		"": false, "-a": false, "Port": false, "a_b": false, "a.b": false, "é": false, long + "a": false,
	} {
		if got := validRuleID(id); got != want {
			t.Errorf("validRuleID(%q) = %v, want %v", id, got, want)
		}
	}
}

// TestSkipAnswersSQL checks that the SQL form of the answer test that
// skip_answers adds gives intel.IsAnswer's verdict on every pair of a port
// grid, and false when a port is NULL.
func TestSkipAnswersSQL(t *testing.T) {
	st := memStore(t)
	ports := []int32{0, 1, 22, 53, 443, 1023, 1024, 1500, 3389, 8080, intel.ServiceMax, intel.ServiceMax + 1, 40000, 49152, 65535}
	var vals []string
	want := map[[2]int64]bool{}
	for _, a := range ports {
		for _, b := range ports {
			vals = append(vals, fmt.Sprintf("(%d, %d)", a, b))
			want[[2]int64{int64(a), int64(b)}] = intel.IsAnswer(a, b)
		}
	}
	q := "SELECT s, d, " + intel.AnswerSQL(`"s"`, `"d"`) + " FROM (VALUES " + strings.Join(vals, ", ") +
		", (NULL, 40000), (443, NULL), (NULL, NULL)) AS t(s, d)"
	rows, err := st.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[[2]int64]bool{}
	nulls := 0
	for rows.Next() {
		var s, d sql.NullInt64
		var ans bool
		if err := rows.Scan(&s, &d, &ans); err != nil {
			t.Fatal(err)
		}
		if !s.Valid || !d.Valid {
			nulls++
			if ans {
				t.Errorf("NULL port (%v, %v) taken for an answer", s, d)
			}
			continue
		}
		got[[2]int64{s.Int64, d.Int64}] = ans
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if nulls != 3 {
		t.Errorf("%d rows with a NULL port, want 3", nulls)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("SQL answer test differs from intel.IsAnswer (-want +got):\n%s", d)
	}
}
