// Package detect runs detection rules over the flows of a store.
//
// A rule is a YAML file (one rule per file) that says which flows count
// (a filter in the filter language), how they are grouped (group_by key
// fields), what is measured per key and time window (count, count_distinct
// FIELD, sum bytes, sum packets) and the threshold the measure must reach.
// Windows are in event time (the record's start): window k holds the
// records with floor(start / window) = k. Optional modes compare the
// window with the key's own history: baseline (the measure against the
// key's average over the previous windows) and new_key (the key was not
// seen in the previous lookback period, e.g. a new external destination).
//
// Evaluation compiles each rule to one SQL query over the `flows` table
// (GROUP BY key and window, HAVING measure >= threshold), over a time
// range, and returns alert.Alert candidates with a few sample flows each.
// A window is evaluated once it is complete: its end plus the rule's
// allowed lateness is at or before the watermark (the latest record start
// in the data, unless told that the data is final). Records that arrive
// later still count when detect runs again; the alert store's dedupe
// makes the alert fire once.
//
// The shipped rule set is embedded (Shipped); LoadDir reads another. Rule
// unit tests (RunTests) feed records and expected alerts through the same
// evaluation, in the style of Prometheus' promtool rule tests.
package detect

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/query/filter"
)

// MeasureKind is what a rule measures per key and window.
type MeasureKind uint8

// Measure kinds.
const (
	// Count counts the matching flows.
	Count MeasureKind = iota
	// CountDistinct counts the distinct values of a field.
	CountDistinct
	// Sum sums bytes or packets.
	Sum
)

// Measure is a rule's measure.
type Measure struct {
	Kind MeasureKind
	// Column is the field counted or summed (not for Count).
	Column string
}

// String renders the measure as rules write it.
func (m Measure) String() string {
	switch m.Kind {
	case CountDistinct:
		return "count_distinct " + m.Column
	case Sum:
		return "sum " + m.Column
	}
	return "count"
}

// Baseline compares a window with the key's own history: the rule fires
// when the measure reaches the threshold and Factor times the key's
// average over the previous Windows windows (a window without matching
// flows counts as 0; windows before the data begins are not counted).
type Baseline struct {
	// Windows is the number of previous windows averaged.
	Windows int
	// Factor is how many times the average the measure must reach.
	Factor float64
	// MinWindows is the number of previous windows the data must cover
	// before the rule evaluates a window (default Windows).
	MinWindows int
}

// NewKey fires only for keys not seen (by the same filter) in the Lookback
// period before the window: new external destinations, new ports.
type NewKey struct {
	// Lookback is the period a key must be absent from.
	Lookback time.Duration
}

// Rule is a parsed detection rule.
type Rule struct {
	// ID names the rule in alerts and dedupe; lower case, digits and '-'.
	ID string
	// Title is a short human name.
	Title string
	// Severity is info, low, medium, high or critical.
	Severity string
	// Description says what the rule finds and how to react.
	Description string
	// MITRE is the ATT&CK technique ID (T1046).
	MITRE string
	// Filter selects the flows that count, in the filter language; Expr is
	// its compiled form.
	Filter string
	Expr   *filter.Expr
	// GroupBy lists the key columns.
	GroupBy []string
	// Measure is what is measured per key and window.
	Measure Measure
	// Threshold is what the measure must reach (>=).
	Threshold int64
	// Window is the aggregation window (event time).
	Window time.Duration
	// Lateness is how long after a window's end late records are waited
	// for before the window is evaluated.
	Lateness time.Duration
	// Suppress is the dedupe period: the same rule and key fire once per
	// period.
	Suppress time.Duration
	// Samples is the number of sample flows kept per alert (default 3).
	Samples int
	// SkipAnswers leaves out the records that look like a service's
	// answer (intel.IsAnswer on srcport and dstport: from a service port,
	// 1 to 32767, to a higher port of 1024 or more), so a connection counts
	// once, under its initiator's key. The filter language cannot compare
	// two fields, hence a key of its own.
	SkipAnswers bool
	// Baseline and NewKey select the optional modes (at most one).
	Baseline *Baseline
	NewKey   *NewKey
	// File is where the rule was read from.
	File string
	// Line is the line of the rule's id in File.
	Line int
}

// Error is a problem in a rule file (or rule test file), with its
// position.
type Error struct {
	File string
	// Line is 1-based; 0 when unknown.
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

var (
	reMITRE    = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	reYAMLLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// validRuleID reports whether id is 1 to 64 lower-case letters, digits and
// '-', not starting with '-'. (As a regexp, the length bound expands to 64
// copies of the character class, compiled at every start of the program.)
func validRuleID(id string) bool {
	if id == "" || len(id) > 64 || id[0] == '-' {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ruleKeys lists the keys a rule file may hold, in documentation order.
var ruleKeys = []string{"id", "title", "severity", "description", "mitre", "filter", "group_by", "measure",
	"threshold", "window", "lateness", "suppress", "samples", "skip_answers", "baseline", "new_key"}

// yamlError turns a yaml.v3 error into an *Error with its line.
func yamlError(file string, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := reYAMLLine.FindStringSubmatch("yaml: " + msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: n, Msg: m[2]}
	}
	return &Error{File: file, Msg: msg}
}

// Parse reads one rule from data; file names it in errors. Filters and
// keys resolve against Fields().
func Parse(file string, data []byte) (*Rule, error) {
	fs, err := Fields()
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &Error{File: file, Msg: "empty rule file"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: root.Line, Msg: "a rule is a mapping of keys (id, title, filter, ...)"}
	}
	p := &ruleParser{file: file, fs: fs, r: &Rule{File: file, Samples: 3}, seen: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if err := p.entry(root.Content[i], root.Content[i+1]); err != nil {
			return nil, err
		}
	}
	if err := p.finish(root); err != nil {
		return nil, err
	}
	return p.r, nil
}

type ruleParser struct {
	file string
	fs   *filter.Fields
	r    *Rule
	seen map[string]*yaml.Node
}

func (p *ruleParser) errAt(n *yaml.Node, format string, a ...any) error {
	return &Error{File: p.file, Line: n.Line, Msg: fmt.Sprintf(format, a...)}
}

func (p *ruleParser) scalar(key string, v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", p.errAt(v, "%s: want a single value", key)
	}
	return v.Value, nil
}

func (p *ruleParser) duration(key string, v *yaml.Node) (time.Duration, error) {
	s, err := p.scalar(key, v)
	if err != nil {
		return 0, err
	}
	d, err := ParseDuration(s)
	if err != nil {
		return 0, p.errAt(v, "%s: %v", key, err)
	}
	return d, nil
}

func (p *ruleParser) integer(key string, v *yaml.Node, lo int64) (int64, error) {
	s, err := p.scalar(key, v)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if err != nil || n < lo {
		return 0, p.errAt(v, "%s: want an integer >= %d, got %q", key, lo, s)
	}
	return n, nil
}

// entry reads one top-level key.
func (p *ruleParser) entry(k, v *yaml.Node) error {
	key := k.Value
	if prev, dup := p.seen[key]; dup {
		return p.errAt(k, "%s: given twice (first on line %d)", key, prev.Line)
	}
	p.seen[key] = k
	r := p.r
	var err error
	switch key {
	case "id":
		if r.ID, err = p.scalar(key, v); err == nil && !validRuleID(r.ID) {
			err = p.errAt(v, "id %q: use lower-case letters, digits and '-' (at most 64)", r.ID)
		}
		r.Line = k.Line
	case "title":
		r.Title, err = p.scalar(key, v)
	case "description":
		r.Description, err = p.scalar(key, v)
	case "severity":
		if r.Severity, err = p.scalar(key, v); err == nil && alert.SeverityRank(r.Severity) < 0 {
			err = p.errAt(v, "severity %q: want one of %s", r.Severity, strings.Join(alert.Severities(), ", "))
		}
	case "mitre":
		if r.MITRE, err = p.scalar(key, v); err == nil && !reMITRE.MatchString(r.MITRE) {
			err = p.errAt(v, "mitre %q: want an ATT&CK technique ID such as T1046 or T1110.001", r.MITRE)
		}
	case "filter":
		if r.Filter, err = p.scalar(key, v); err == nil {
			err = p.compileFilter(v)
		}
	case "group_by":
		err = p.groupBy(v)
	case "measure":
		err = p.measure(v)
	case "threshold":
		r.Threshold, err = p.integer(key, v, 1)
	case "window":
		if r.Window, err = p.duration(key, v); err == nil && (r.Window < time.Second || r.Window%time.Second != 0) {
			err = p.errAt(v, "window %s: want whole seconds, at least 1s", r.Window)
		}
	case "lateness":
		if r.Lateness, err = p.duration(key, v); err == nil && r.Lateness%time.Second != 0 {
			err = p.errAt(v, "lateness %s: want whole seconds", r.Lateness)
		}
	case "suppress":
		r.Suppress, err = p.duration(key, v)
	case "samples":
		var n int64
		n, err = p.integer(key, v, 0)
		if err == nil && n > 100 {
			err = p.errAt(v, "samples: at most 100")
		}
		r.Samples = int(n)
	case "skip_answers":
		var b string
		if b, err = p.scalar(key, v); err == nil {
			switch b {
			case "true":
				r.SkipAnswers = true
			case "false":
				r.SkipAnswers = false
			default:
				err = p.errAt(v, "skip_answers: want true or false, got %q", b)
			}
		}
	case "baseline":
		err = p.baseline(v)
	case "new_key":
		err = p.newKey(v)
	default:
		hint := ""
		if s := suggest(key, ruleKeys); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", s)
		}
		err = p.errAt(k, "unknown key %q%s; a rule has %s", key, hint, strings.Join(ruleKeys, ", "))
	}
	return err
}

// compileFilter compiles the filter and reports a problem on the line of
// the filter text where it is.
func (p *ruleParser) compileFilter(v *yaml.Node) error {
	e, err := filter.Compile(p.r.Filter, p.fs)
	if err == nil {
		p.r.Expr = e
		return nil
	}
	line := v.Line
	msg := err.Error()
	var fe *filter.Error
	if errors.As(err, &fe) {
		// Block scalars (| or >) start on the next line.
		if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			line++
			for i, r := range []rune(fe.Input) {
				if i+1 >= fe.Pos {
					break
				}
				if r == '\n' {
					line++
				}
			}
		}
		msg = "filter: " + fe.Msg + " at position " + strconv.Itoa(fe.Pos)
		if fe.Hint != "" {
			msg += " (" + fe.Hint + ")"
		}
	}
	return &Error{File: p.file, Line: line, Msg: msg}
}

// column resolves a key or measure field to its column.
func (p *ruleParser) column(key string, n *yaml.Node, name string) (string, error) {
	f, ok := p.fs.Lookup(strings.TrimSpace(name))
	if !ok {
		return "", p.errAt(n, "%s: unknown field %q", key, name)
	}
	return f.Column, nil
}

func (p *ruleParser) groupBy(v *yaml.Node) error {
	var names []string
	var nodes []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		for _, s := range strings.Split(v.Value, ",") {
			names, nodes = append(names, s), append(nodes, v)
		}
	case yaml.SequenceNode:
		for _, c := range v.Content {
			if c.Kind != yaml.ScalarNode {
				return p.errAt(c, "group_by: want field names")
			}
			names, nodes = append(names, c.Value), append(nodes, c)
		}
	default:
		return p.errAt(v, "group_by: want a list of field names")
	}
	seen := map[string]bool{}
	for i, n := range names {
		col, err := p.column("group_by", nodes[i], n)
		if err != nil {
			return err
		}
		if seen[col] {
			return p.errAt(nodes[i], "group_by: %s twice", n)
		}
		seen[col] = true
		p.r.GroupBy = append(p.r.GroupBy, col)
	}
	if len(p.r.GroupBy) == 0 {
		return p.errAt(v, "group_by: at least one field")
	}
	return nil
}

func (p *ruleParser) measure(v *yaml.Node) error {
	s, err := p.scalar("measure", v)
	if err != nil {
		return err
	}
	parts := strings.Fields(s)
	m := Measure{}
	switch {
	case len(parts) == 1 && parts[0] == "count":
	case len(parts) == 2 && parts[0] == "count_distinct":
		m.Kind = CountDistinct
		if m.Column, err = p.column("measure", v, parts[1]); err != nil {
			return err
		}
	case len(parts) == 2 && parts[0] == "sum" && (parts[1] == "bytes" || parts[1] == "packets"):
		m.Kind, m.Column = Sum, parts[1]
	default:
		return p.errAt(v, "measure %q: want count, count_distinct FIELD, sum bytes or sum packets", s)
	}
	p.r.Measure = m
	return nil
}

// fields reads a nested mapping with the given keys.
func (p *ruleParser) nested(key string, v *yaml.Node, keys []string, fn func(k string, kn, vn *yaml.Node) error) error {
	if v.Kind != yaml.MappingNode {
		return p.errAt(v, "%s: want a mapping with %s", key, strings.Join(keys, ", "))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		kn, vn := v.Content[i], v.Content[i+1]
		if !contains(keys, kn.Value) {
			return p.errAt(kn, "%s: unknown key %q (want %s)", key, kn.Value, strings.Join(keys, ", "))
		}
		if seen[kn.Value] {
			return p.errAt(kn, "%s.%s: given twice", key, kn.Value)
		}
		seen[kn.Value] = true
		if err := fn(kn.Value, kn, vn); err != nil {
			return err
		}
	}
	return nil
}

func (p *ruleParser) baseline(v *yaml.Node) error {
	b := &Baseline{}
	err := p.nested("baseline", v, []string{"windows", "factor", "min_windows"}, func(k string, _, vn *yaml.Node) error {
		switch k {
		case "windows":
			n, err := p.integer("baseline.windows", vn, 1)
			if err == nil && n > 10000 {
				err = p.errAt(vn, "baseline.windows: at most 10000")
			}
			b.Windows = int(n)
			return err
		case "min_windows":
			n, err := p.integer("baseline.min_windows", vn, 1)
			b.MinWindows = int(n)
			return err
		}
		s, err := p.scalar("baseline.factor", vn)
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			return p.errAt(vn, "baseline.factor: want a positive number, got %q", s)
		}
		b.Factor = f
		return nil
	})
	if err != nil {
		return err
	}
	if b.Windows == 0 || b.Factor == 0 {
		return p.errAt(v, "baseline: windows and factor are required")
	}
	if b.MinWindows == 0 {
		b.MinWindows = b.Windows
	}
	if b.MinWindows > b.Windows {
		return p.errAt(v, "baseline: min_windows %d is more than windows %d", b.MinWindows, b.Windows)
	}
	p.r.Baseline = b
	return nil
}

func (p *ruleParser) newKey(v *yaml.Node) error {
	nk := &NewKey{}
	err := p.nested("new_key", v, []string{"lookback"}, func(k string, _, vn *yaml.Node) error {
		d, err := p.duration("new_key.lookback", vn)
		nk.Lookback = d
		if err == nil && (d <= 0 || d%time.Second != 0) {
			err = p.errAt(vn, "new_key.lookback: want a positive whole number of seconds")
		}
		return err
	})
	if err != nil {
		return err
	}
	if nk.Lookback == 0 {
		return p.errAt(v, "new_key: lookback is required")
	}
	p.r.NewKey = nk
	return nil
}

// finish checks the required keys and the combinations.
func (p *ruleParser) finish(root *yaml.Node) error {
	r := p.r
	for _, k := range []string{"id", "title", "severity", "filter", "group_by", "measure", "threshold", "window"} {
		if _, ok := p.seen[k]; !ok {
			return &Error{File: p.file, Line: root.Line, Msg: "missing required key " + k}
		}
	}
	if r.Baseline != nil && r.NewKey != nil {
		return p.errAt(p.seen["new_key"], "baseline and new_key cannot be combined")
	}
	if r.Suppress == 0 {
		r.Suppress = r.Window
	}
	if r.NewKey != nil && r.NewKey.Lookback < r.Window {
		return p.errAt(p.seen["new_key"], "new_key.lookback %s is shorter than the window %s", r.NewKey.Lookback, r.Window)
	}
	return nil
}

// ParseDuration reads durations as Go writes them (90s, 10m, 1h30m) plus
// days (7d).
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") {
		n, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64)
		if err != nil || n < 0 || n > 36500 {
			return 0, fmt.Errorf("duration %q: want e.g. 30s, 10m, 1h or 7d", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("duration %q: want e.g. 30s, 10m, 1h or 7d", s)
	}
	return d, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the candidate closest to s, if close.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkUnique reports rules sharing an ID.
func checkUnique(rules []*Rule) error {
	byID := map[string]*Rule{}
	for _, r := range rules {
		if o, ok := byID[r.ID]; ok {
			return &Error{File: r.File, Line: r.Line, Msg: fmt.Sprintf("rule id %s is also used by %s:%d", r.ID, o.File, o.Line)}
		}
		byID[r.ID] = r
	}
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	return nil
}
