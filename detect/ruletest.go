package detect

import (
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
	"github.com/flowlens/flowlens/store/duckdb"
)

// TestFile is a rule unit-test file (YAML):
//
//	rule_files: [../portscan-vertical.yaml]   # relative to the test file
//	tests:
//	  - name: one source probing 30 closed ports
//	    enrichment: {internal: [10.0.0.0/8]}
//	    records:
//	      - {srcaddr: 45.33.10.7, dstaddr: 10.0.1.5, dstport: 1, action: REJECT, repeat: 30, vary: {dstport: 1, at: 2s}}
//	    lines: |                               # flow-log lines (v2 unless format says)
//	      2 123456789012 eni-0a 45.33.10.7 10.0.1.5 40000 22 6 1 44 1710115200 1710115201 REJECT OK
//	    expect:
//	      - rule: portscan-vertical
//	        key: {srcaddr: 45.33.10.7, dstaddr: 10.0.1.5}
//	        value: 30
//
// An empty expect list means no rule may fire.
type TestFile struct {
	RuleFiles []string   `yaml:"rule_files"`
	Tests     []TestCase `yaml:"tests"`
}

// TestCase is one test of a TestFile.
type TestCase struct {
	Name string `yaml:"name"`
	// Start is the base time records are placed from (RFC 3339; default
	// 2024-03-11T00:00:00Z).
	Start string `yaml:"start"`
	// Format is the format of Lines (an AWS format string, or v2); a
	// header line in Lines switches it too.
	Format string `yaml:"format"`
	// Lines are flow-log lines.
	Lines string `yaml:"lines"`
	// Records are records given by field, with the extras at (offset from
	// Start, or an RFC 3339 time), duration (end - start, default 10s),
	// repeat (copies) and vary (per-copy step of fields, at included).
	Records []map[string]any `yaml:"records"`
	// Enrichment fills the enrichment columns the records do not set.
	Enrichment Enrichment `yaml:"enrichment"`
	// Since and Until bound the windows evaluated (RFC 3339 or offsets
	// from Start).
	Since string `yaml:"since"`
	Until string `yaml:"until"`
	// Final treats the data as complete (default true); false evaluates
	// only windows complete by the data's own watermark.
	Final *bool `yaml:"final"`
	// Expect lists the alerts that must fire, and only they.
	Expect []Expected `yaml:"expect"`
}

// Enrichment inputs of a test. Addresses are IPs or CIDR prefixes.
type Enrichment struct {
	// Internal are the internal networks (default: the private ranges).
	Internal []string `yaml:"internal"`
	// Entities maps an address to its inventory entity.
	Entities map[string]Entity `yaml:"entities"`
	// Lists maps an allow-list name to its addresses.
	Lists map[string][]string `yaml:"lists"`
	// Threats maps a threat-intel list name to its addresses.
	Threats map[string][]string `yaml:"threats"`
	// Services maps an AWS service name to its ranges.
	Services map[string][]string `yaml:"services"`
}

// Entity is an inventory entity in a test.
type Entity struct {
	Type string `yaml:"type"`
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// Expected is an alert a test expects. Value, Flows and WindowStart are
// checked when given.
type Expected struct {
	Rule        string         `yaml:"rule"`
	Key         map[string]any `yaml:"key"`
	Value       *int64         `yaml:"value"`
	Flows       *int64         `yaml:"flows"`
	WindowStart string         `yaml:"window_start"`
}

// TestResult is the outcome of one test case.
type TestResult struct {
	File, Name string
	// Err is the failure (nil when the test passed). A mismatch holds a
	// diff of the expected and fired alerts.
	Err error
}

// DefaultTestStart is the base time of test records.
var DefaultTestStart = time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC)

// RunTestFiles runs the rule test files at paths (files, or directories
// whose *.yaml files are all test files).
func RunTestFiles(ctx context.Context, paths []string) ([]TestResult, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("rules test: %w", err)
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("rules test: %w", err)
		}
		for _, e := range ents {
			if !e.IsDir() && isYAML(e.Name()) {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	var out []TestResult
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return out, fmt.Errorf("rules test: %w", err)
		}
		res, err := RunTests(ctx, f, data, func(name string) ([]byte, string, error) {
			p := name
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(f), name)
			}
			b, err := os.ReadFile(p)
			return b, p, err
		})
		out = append(out, res...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// RunShippedTests runs the tests of the embedded rule set.
func RunShippedTests(ctx context.Context) ([]TestResult, error) {
	ents, err := fs.ReadDir(shipped, "rules/tests")
	if err != nil {
		return nil, err
	}
	var out []TestResult
	for _, e := range ents {
		name := "rules/tests/" + e.Name()
		data, err := fs.ReadFile(shipped, name)
		if err != nil {
			return out, err
		}
		res, err := RunTests(ctx, name, data, func(rf string) ([]byte, string, error) {
			p := path.Clean(path.Join("rules/tests", rf))
			b, err := fs.ReadFile(shipped, p)
			return b, p, err
		})
		out = append(out, res...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// RunTests runs the tests of one test file (data, named file). open
// reads a rule file named in rule_files and returns its contents and the
// name to report. A problem with the file itself (bad YAML, a bad rule) is
// returned as an error; failing tests are in the results.
func RunTests(ctx context.Context, file string, data []byte, open func(string) ([]byte, string, error)) ([]TestResult, error) {
	var tf TestFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil {
		return nil, yamlError(file, err)
	}
	if len(tf.RuleFiles) == 0 {
		return nil, &Error{File: file, Msg: "rule_files: name at least one rule file"}
	}
	var rules []*Rule
	for _, rf := range tf.RuleFiles {
		b, name, err := open(rf)
		if err != nil {
			return nil, &Error{File: file, Msg: fmt.Sprintf("rule_files: %v", err)}
		}
		r, err := Parse(name, b)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	if err := checkUnique(rules); err != nil {
		return nil, err
	}
	var out []TestResult
	for i := range tf.Tests {
		tc := &tf.Tests[i]
		name := tc.Name
		if name == "" {
			name = "test " + strconv.Itoa(i+1)
		}
		err := runCase(ctx, rules, tc)
		out = append(out, TestResult{File: file, Name: name, Err: err})
	}
	return out, nil
}

// testTable is the table test records are loaded into.
const testTable = "rule_test_flows"

func runCase(ctx context.Context, rules []*Rule, tc *TestCase) error {
	base := DefaultTestStart
	if tc.Start != "" {
		t, err := time.Parse(time.RFC3339, tc.Start)
		if err != nil {
			return fmt.Errorf("start %q: want RFC 3339", tc.Start)
		}
		base = t.UTC()
	}
	rows, err := caseRows(tc, base)
	if err != nil {
		return err
	}
	en, err := newTestEnricher(tc.Enrichment)
	if err != nil {
		return err
	}
	for _, r := range rows {
		en.fill(r)
	}
	cfg := duckdb.DefaultConfig()
	cfg.MemoryLimit = 256 << 20
	cfg.Threads = 1
	st, err := duckdb.OpenMemory(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := LoadRows(ctx, st, testTable, rows); err != nil {
		return err
	}
	opt := Options{Table: testTable, Final: tc.Final == nil || *tc.Final}
	if opt.Since, err = testTime(tc.Since, base); err != nil {
		return fmt.Errorf("since: %w", err)
	}
	if opt.Until, err = testTime(tc.Until, base); err != nil {
		return fmt.Errorf("until: %w", err)
	}
	rep, err := Evaluate(ctx, st, rules, opt)
	if err != nil {
		return err
	}
	bySuppress := map[string]time.Duration{}
	for _, r := range rules {
		bySuppress[r.ID] = r.Suppress
	}
	res, err := alert.Dispatch(ctx, st, rep.Alerts, func(a *alert.Alert) time.Duration { return bySuppress[a.Rule] }, nil, nil)
	if err != nil {
		return err
	}
	return compareAlerts(rules, tc.Expect, res.New)
}

func testTime(s string, base time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := ParseDuration(strings.TrimPrefix(s, "+"))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want RFC 3339 or an offset such as 10m", s)
	}
	return base.Add(d), nil
}

// Row is one test record: column name -> value (string, int64, bool or
// netip.Addr).
type Row map[string]any

// caseRows builds the rows of the lines and records of tc.
func caseRows(tc *TestCase, base time.Time) ([]Row, error) {
	var rows []Row
	if strings.TrimSpace(tc.Lines) != "" {
		f := flowlog.V2
		if tc.Format != "" && tc.Format != "v2" {
			var err error
			if f, err = flowlog.ParseFormat(tc.Format); err != nil {
				return nil, fmt.Errorf("format: %w", err)
			}
		}
		p := flowlog.NewParser(f, schema.All())
		b := flowlog.NewBatch()
		var ch flowlog.Chunk
		text := strings.TrimSpace(tc.Lines) + "\n"
		p.ParseChunk([]byte(text), b, &ch)
		if ch.Stats.Bad > 0 {
			msg := fmt.Sprintf("%d bad line(s)", ch.Stats.Bad)
			if len(ch.Errors) > 0 {
				msg += ": " + ch.Errors[0].Error()
			}
			return nil, fmt.Errorf("lines: %s", msg)
		}
		for i := 0; i < b.N; i++ {
			r := Row{}
			for id := 0; id < schema.NumFields; id++ {
				if v := b.Value(id, i); v != nil {
					r[schema.Fields[id].Column] = v
				}
			}
			rows = append(rows, r)
		}
	}
	for i, rec := range tc.Records {
		rs, err := expandRecord(rec, base)
		if err != nil {
			return nil, fmt.Errorf("records[%d]: %w", i, err)
		}
		rows = append(rows, rs...)
	}
	return rows, nil
}

// columnKinds maps every flows column to its kind.
var columnKinds = func() map[string]store.Kind {
	m := map[string]store.Kind{}
	for _, c := range store.Columns() {
		m[c.Name] = c.Kind
	}
	return m
}()

// resolveColumn maps a field name of a test record to its column.
func resolveColumn(name string) (string, error) {
	fs, err := Fields()
	if err != nil {
		return "", err
	}
	if _, ok := columnKinds[name]; ok {
		return name, nil
	}
	f, ok := fs.Lookup(name)
	if !ok {
		return "", fmt.Errorf("unknown field %q", name)
	}
	return f.Column, nil
}

// convert turns a YAML value into the column's Go type.
func convert(col string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	s := fmt.Sprint(v)
	switch columnKinds[col] {
	case store.KindIP:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an address", col, s)
		}
		return a, nil
	case store.KindInt32, store.KindInt64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an integer", col, s)
		}
		return n, nil
	case store.KindEpoch:
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.Unix(), nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a time", col, s)
		}
		return n, nil
	case store.KindBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not true or false", col, s)
		}
		return b, nil
	}
	return s, nil
}

// expandRecord turns one record entry into rows.
func expandRecord(rec map[string]any, base time.Time) ([]Row, error) {
	repeat := int64(1)
	var at, dur time.Duration = 0, 10 * time.Second
	var atAbs time.Time
	var vary map[string]any
	fields := Row{}
	for k, v := range rec {
		switch k {
		case "repeat":
			n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
			if err != nil || n < 1 || n > 100000 {
				return nil, fmt.Errorf("repeat: want 1 to 100000")
			}
			repeat = n
		case "at":
			s := fmt.Sprint(v)
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				atAbs = t
				continue
			}
			d, err := ParseDuration(s)
			if err != nil {
				return nil, fmt.Errorf("at: %w", err)
			}
			at = d
		case "duration":
			d, err := ParseDuration(fmt.Sprint(v))
			if err != nil {
				return nil, fmt.Errorf("duration: %w", err)
			}
			dur = d
		case "vary":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("vary: want a mapping of field: step")
			}
			vary = m
		default:
			col, err := resolveColumn(k)
			if err != nil {
				return nil, err
			}
			cv, err := convert(col, v)
			if err != nil {
				return nil, err
			}
			fields[col] = cv
		}
	}
	start := base.Add(at)
	if !atAbs.IsZero() {
		start = atAbs
	}
	status, _ := fields["log_status"].(string)
	defaults := Row{"version": int64(2), "account_id": "123456789012", "interface_id": "eni-0test", "log_status": "OK"}
	if status == "" || status == "OK" {
		traffic := Row{"protocol": int64(6), "packets": int64(1), "bytes": int64(60), "action": "ACCEPT"}
		for k, v := range traffic {
			defaults[k] = v
		}
	}
	var out []Row
	for i := int64(0); i < repeat; i++ {
		r := Row{}
		for k, v := range defaults {
			r[k] = v
		}
		for k, v := range fields {
			r[k] = v
		}
		s := start
		for k, step := range vary {
			if k == "at" {
				d, err := ParseDuration(fmt.Sprint(step))
				if err != nil {
					return nil, fmt.Errorf("vary.at: %w", err)
				}
				s = s.Add(time.Duration(i) * d)
				continue
			}
			col, err := resolveColumn(k)
			if err != nil {
				return nil, fmt.Errorf("vary: %w", err)
			}
			n, err := strconv.ParseInt(fmt.Sprint(step), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("vary.%s: want an integer step", k)
			}
			switch x := r[col].(type) {
			case int64:
				r[col] = x + i*n
			case netip.Addr:
				r[col] = addAddr(x, i*n)
			default:
				return nil, fmt.Errorf("vary.%s: the field needs an integer or address value", k)
			}
		}
		if _, ok := fields["start"]; !ok {
			r["start"] = s.Unix()
		}
		if _, ok := fields["end"]; !ok {
			r["end"] = r["start"].(int64) + int64(dur/time.Second)
		}
		out = append(out, r)
	}
	return out, nil
}

// addAddr returns a + n (n >= 0).
func addAddr(a netip.Addr, n int64) netip.Addr {
	b := a.As16()
	carry := uint64(n)
	for i := 15; i >= 0 && carry > 0; i-- {
		s := uint64(b[i]) + carry&0xff
		b[i] = byte(s)
		carry = carry>>8 + s>>8
	}
	out := netip.AddrFrom16(b)
	if a.Is4() {
		return out.Unmap()
	}
	return out
}

// testEnricher fills the enrichment columns from the test's inputs.
type testEnricher struct {
	internal []netip.Prefix
	entities map[netip.Addr]Entity
	lists    []named
	threats  []named
	services []named
}

type named struct {
	name     string
	prefixes []netip.Prefix
}

func parsePrefixes(where string, ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("enrichment %s: %q is not an address or prefix", where, s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func namedSets(where string, m map[string][]string) ([]named, error) {
	var out []named
	for name, ss := range m {
		ps, err := parsePrefixes(where+"."+name, ss)
		if err != nil {
			return nil, err
		}
		out = append(out, named{name, ps})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func newTestEnricher(e Enrichment) (*testEnricher, error) {
	internal := e.Internal
	if len(internal) == 0 {
		internal = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"}
	}
	t := &testEnricher{entities: map[netip.Addr]Entity{}}
	var err error
	if t.internal, err = parsePrefixes("internal", internal); err != nil {
		return nil, err
	}
	for s, ent := range e.Entities {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("enrichment entities: %q is not an address", s)
		}
		t.entities[a] = ent
	}
	if t.lists, err = namedSets("lists", e.Lists); err != nil {
		return nil, err
	}
	if t.threats, err = namedSets("threats", e.Threats); err != nil {
		return nil, err
	}
	if t.services, err = namedSets("services", e.Services); err != nil {
		return nil, err
	}
	return t, nil
}

func containsAddr(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a.Unmap()) || p.Contains(a) {
			return true
		}
	}
	return false
}

func matchNames(sets []named, a netip.Addr) any {
	var names []string
	for _, s := range sets {
		if containsAddr(s.prefixes, a) {
			names = append(names, s.name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return strings.Join(names, ",")
}

// fill sets the enrichment columns of r that it does not set itself.
func (t *testEnricher) fill(r Row) {
	set := func(col string, v any) {
		if _, ok := r[col]; !ok && v != nil {
			r[col] = v
		}
	}
	for _, side := range []string{"src", "dst"} {
		a, ok := r[side+"addr"].(netip.Addr)
		if !ok {
			continue
		}
		set(side+"_internal", containsAddr(t.internal, a))
		if ent, ok := t.entities[a]; ok {
			set(side+"_entity_type", nonEmpty(ent.Type))
			set(side+"_entity_id", nonEmpty(ent.ID))
			set(side+"_entity_name", nonEmpty(ent.Name))
		}
		set(side+"_list", matchNames(t.lists, a))
		set(side+"_threat", matchNames(t.threats, a))
		set(side+"_service", matchNames(t.services, a))
	}
}

func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// LoadRows creates table in st with the layout of `flows` and inserts
// rows (values as Row holds them; the *_bin key of every address is
// derived). It is how rule tests load their records; tests of other
// packages use it to load records with enrichment values.
func LoadRows(ctx context.Context, st *duckdb.Store, table string, rows []Row) error {
	db := st.DB()
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE `+ident(table)+` AS SELECT * FROM `+store.Table+` LIMIT 0`); err != nil {
		return fmt.Errorf("test table: %w", err)
	}
	cols := store.Columns()
	names := make([]string, len(cols))
	marks := make([]string, len(cols))
	for i, c := range cols {
		names[i], marks[i] = ident(c.Name), "?"
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO `+ident(table)+` (`+strings.Join(names, ", ")+`) VALUES (`+strings.Join(marks, ", ")+`)`)
	if err != nil {
		return fmt.Errorf("test table: %w", err)
	}
	defer stmt.Close()
	args := make([]any, len(cols))
	for _, r := range rows {
		for i, c := range cols {
			var v any
			switch {
			case c.Kind == store.KindIPBin:
				if a, ok := r[c.Of].(netip.Addr); ok {
					k := store.IPKey(a)
					v = k[:]
				}
			case c.Kind == store.KindIP:
				if a, ok := r[c.Name].(netip.Addr); ok {
					v = a.String()
				}
			case c.Kind == store.KindInt32:
				if n, ok := r[c.Name].(int64); ok {
					v = int32(n)
				}
			case c.Name == store.ColIngestedAt:
				v = time.Now().UTC()
			default:
				v = r[c.Name]
			}
			args[i] = v
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("test table: insert: %w", err)
		}
	}
	return tx.Commit()
}

// compareAlerts checks the fired alerts against the expectations and
// returns an error with a diff (-want +got) when they differ.
func compareAlerts(rules []*Rule, want []Expected, got []alert.Alert) error {
	byID := map[string]*Rule{}
	for _, r := range rules {
		byID[r.ID] = r
	}
	gotLines := make([]string, len(got))
	for i := range got {
		gotLines[i] = renderAlert(&got[i], true, true, true)
	}
	used := make([]bool, len(got))
	wantLines := []string{}
	for i, e := range want {
		r, ok := byID[e.Rule]
		if !ok {
			return fmt.Errorf("expect[%d]: rule %q is not among the rule files", i, e.Rule)
		}
		key := alert.Pairs{}
		for _, col := range r.GroupBy {
			name := FilterName(col)
			v, ok := lookupKey(e.Key, col, name)
			if !ok {
				return fmt.Errorf("expect[%d]: key %s missing (rule %s groups by %s)", i, name, r.ID, keyNames(r))
			}
			key = append(key, alert.Pair{Name: name, Value: v})
		}
		if len(e.Key) != len(r.GroupBy) {
			return fmt.Errorf("expect[%d]: key has %d fields, rule %s groups by %s", i, len(e.Key), r.ID, keyNames(r))
		}
		a := alert.Alert{Rule: e.Rule, Key: key}
		if e.WindowStart != "" {
			t, err := time.Parse(time.RFC3339, e.WindowStart)
			if err != nil {
				return fmt.Errorf("expect[%d]: window_start %q: want RFC 3339", i, e.WindowStart)
			}
			a.WindowStart = t.UTC()
		}
		// Unspecified values are taken from the matching alert, if any.
		for j := range got {
			g := &got[j]
			if used[j] || g.Rule != a.Rule || g.Key.String() != a.Key.String() || (!a.WindowStart.IsZero() && !g.WindowStart.Equal(a.WindowStart)) {
				continue
			}
			used[j] = true
			if a.WindowStart.IsZero() {
				a.WindowStart = g.WindowStart
			}
			a.Value, a.Flows = g.Value, g.Flows
			break
		}
		if e.Value != nil {
			a.Value = *e.Value
		}
		if e.Flows != nil {
			a.Flows = *e.Flows
		}
		wantLines = append(wantLines, renderAlert(&a, true, true, true))
	}
	sort.Strings(gotLines)
	sort.Strings(wantLines)
	if slices.Equal(wantLines, gotLines) {
		return nil
	}
	return fmt.Errorf("alerts differ (-want +got):\n%s", lineDiff(wantLines, gotLines))
}

// lineDiff lists the lines only in want (-) and only in got (+), and the
// common ones indented, in sorted order.
func lineDiff(want, got []string) string {
	var sb strings.Builder
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || (i < len(want) && want[i] < got[j]):
			sb.WriteString("- " + want[i] + "\n")
			i++
		case i == len(want) || got[j] < want[i]:
			sb.WriteString("+ " + got[j] + "\n")
			j++
		default:
			sb.WriteString("  " + want[i] + "\n")
			i++
			j++
		}
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

func keyNames(r *Rule) string {
	var ns []string
	for _, c := range r.GroupBy {
		ns = append(ns, FilterName(c))
	}
	return strings.Join(ns, ", ")
}

func lookupKey(m map[string]any, col, name string) (string, bool) {
	for k, v := range m {
		c, err := resolveColumn(k)
		if err != nil || c != col {
			continue
		}
		if v == nil {
			return "-", true
		}
		return fmt.Sprint(v), true
	}
	_ = name
	return "", false
}

// renderAlert renders the parts of an alert a test compares.
func renderAlert(a *alert.Alert, value, flows, window bool) string {
	var key []string
	for _, kv := range a.Key {
		key = append(key, kv.Name+"="+alert.ValueString(kv.Value))
	}
	s := a.Rule + " {" + strings.Join(key, " ") + "}"
	if window {
		s += " window_start=" + a.WindowStart.UTC().Format(time.RFC3339)
	}
	if value {
		s += " value=" + strconv.FormatInt(a.Value, 10)
	}
	if flows {
		s += " flows=" + strconv.FormatInt(a.Flows, 10)
	}
	return s
}
