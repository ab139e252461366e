package detect

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/intel"
	"github.com/flowlens/flowlens/query/filter"
	"github.com/flowlens/flowlens/store"
)

// Querier runs SQL; store.Store is one.
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (store.Rows, error)
}

// Options control an evaluation.
type Options struct {
	// Table is the table or view holding the flows ("flows" when empty).
	Table string
	// Since and Until bound the windows evaluated: those starting in
	// [Since aligned down to the window, Until). Zero means unbounded.
	Since, Until time.Time
	// Final says the data is complete (files read in one go): every window
	// is evaluated whatever the lateness. Otherwise a window is evaluated
	// when its end plus the rule's lateness is at or before Watermark.
	Final bool
	// Watermark is the event-time high-water mark; zero means the latest
	// record start in the table.
	Watermark time.Time
	// Where, when set, restricts the flows every rule sees (--where).
	Where *filter.Expr
	// FollowUp is prepended to the follow-up command of every alert
	// (default "flowlens query"); FollowUpArgs is appended (e.g. the
	// SOURCE files of an ad-hoc run, already shell-quoted).
	FollowUp     string
	FollowUpArgs string
}

// RuleStats is what evaluating one rule did.
type RuleStats struct {
	Rule string
	// Windows is the range of window starts evaluated (zero when none).
	From, To time.Time
	// Alerts is the number of candidate alerts.
	Alerts int
	// Pending says the newest windows were left for a later run because
	// they were not complete yet.
	Pending bool
	// Skipped explains why the rule evaluated nothing (e.g. not enough
	// history), or is empty.
	Skipped string
	// Elapsed is the time the rule's queries took.
	Elapsed time.Duration
}

// Report is the result of Evaluate.
type Report struct {
	// Alerts are the candidates, in rule order then window order, before
	// dedupe against the alert store.
	Alerts []alert.Alert
	// Rules has one entry per rule.
	Rules []RuleStats
	// DataStart and Watermark are the earliest and latest record start in
	// the table (zero when it is empty).
	DataStart, Watermark time.Time
}

// Evaluate runs rules over the flows q holds and returns the candidate
// alerts, each with sample flows and a follow-up command.
func Evaluate(ctx context.Context, q Querier, rules []*Rule, opt Options) (*Report, error) {
	if opt.Table == "" {
		opt.Table = store.Table
	}
	if opt.FollowUp == "" {
		opt.FollowUp = "flowlens query"
	}
	rep := &Report{}
	lo, hi, ok, err := timeBounds(ctx, q, opt.Table)
	if err != nil {
		return nil, err
	}
	if !ok {
		for _, r := range rules {
			rep.Rules = append(rep.Rules, RuleStats{Rule: r.ID, Skipped: "no records"})
		}
		return rep, nil
	}
	rep.DataStart, rep.Watermark = time.Unix(lo, 0).UTC(), time.Unix(hi, 0).UTC()
	wm := hi
	if !opt.Watermark.IsZero() {
		wm = opt.Watermark.Unix()
	}
	if opt.Final {
		wm = math.MaxInt64 / 2
	}
	for _, r := range rules {
		st, alerts, err := evalRule(ctx, q, r, opt, lo, hi, wm)
		if err != nil {
			return nil, fmt.Errorf("rule %s (%s): %w", r.ID, r.File, err)
		}
		rep.Rules = append(rep.Rules, st)
		rep.Alerts = append(rep.Alerts, alerts...)
	}
	return rep, nil
}

func timeBounds(ctx context.Context, q Querier, table string) (lo, hi int64, ok bool, err error) {
	rows, err := q.Query(ctx, `SELECT min("start"), max("start") FROM `+table)
	if err != nil {
		return 0, 0, false, fmt.Errorf("data range: %w", err)
	}
	defer rows.Close()
	var a, b any
	if rows.Next() {
		if err := rows.Scan(&a, &b); err != nil {
			return 0, 0, false, fmt.Errorf("data range: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, false, fmt.Errorf("data range: %w", err)
	}
	x, okA := asInt(a)
	y, okB := asInt(b)
	return x, y, okA && okB, nil
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int:
		return int64(x), true
	case float64:
		return int64(x), true
	}
	return 0, false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ident(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// plan is the window range of one rule's evaluation.
type plan struct {
	w        int64 // window seconds
	first    int64 // first window start evaluated
	last     int64 // last window start evaluated
	history  int64 // seconds of history before first the query reads
	dataOrg  int64 // start of the first window holding data
	pending  bool
	skipNote string
}

func planRule(r *Rule, opt Options, lo, hi, wm int64) plan {
	w := int64(r.Window / time.Second)
	p := plan{w: w}
	p.first = floorDiv(lo, w) * w
	if !opt.Since.IsZero() {
		p.first = max(p.first, floorDiv(opt.Since.Unix(), w)*w)
	}
	p.last = floorDiv(hi, w) * w
	if !opt.Until.IsZero() {
		p.last = min(p.last, floorDiv(opt.Until.Unix()-1, w)*w)
	}
	// Complete windows only: ws + w + lateness <= watermark.
	complete := floorDiv(wm-w-int64(r.Lateness/time.Second), w) * w
	if complete < p.last {
		p.last, p.pending = complete, true
	}
	dataStart := floorDiv(lo, w) * w
	p.dataOrg = dataStart
	switch {
	case r.Baseline != nil:
		p.history = int64(r.Baseline.Windows) * w
		p.first = max(p.first, dataStart+int64(r.Baseline.MinWindows)*w)
		if p.first > p.last {
			p.skipNote = fmt.Sprintf("needs %d windows of history", r.Baseline.MinWindows)
		}
	case r.NewKey != nil:
		p.history = int64(r.NewKey.Lookback / time.Second)
		p.first = max(p.first, dataStart+p.history)
		if p.first > p.last {
			p.skipNote = fmt.Sprintf("needs %s of history", r.NewKey.Lookback)
		}
	}
	if p.first > p.last && p.skipNote == "" {
		p.skipNote = "no complete window in range"
	}
	return p
}

// SQL returns the query Evaluate runs for r over table, with its
// arguments, for windows starting in [first, last].
func (r *Rule) SQL(table string, first, last int64) (string, []any) {
	h := r.historySeconds()
	return r.sql(table, plan{w: int64(r.Window / time.Second), first: first, last: last, history: h, dataOrg: first - h}, nil)
}

func (r *Rule) historySeconds() int64 {
	w := int64(r.Window / time.Second)
	switch {
	case r.Baseline != nil:
		return int64(r.Baseline.Windows) * w
	case r.NewKey != nil:
		return int64(r.NewKey.Lookback / time.Second)
	}
	return 0
}

// condSQL renders the rule's filter, the answer test of SkipAnswers, and
// where when set, after args.
func (r *Rule) condSQL(args []any, where *filter.Expr) (string, []any) {
	cond, args := r.Expr.AppendSQL(filter.DuckDB{}, args)
	if r.SkipAnswers {
		cond = "(" + cond + ") AND NOT " + intel.AnswerSQL(ident("srcport"), ident("dstport"))
	}
	if where != nil {
		var w string
		w, args = where.AppendSQL(filter.DuckDB{}, args)
		cond = "(" + cond + ") AND (" + w + ")"
	}
	return cond, args
}

func (r *Rule) measureSQL() string {
	switch r.Measure.Kind {
	case CountDistinct:
		return "count(DISTINCT " + ident(r.Measure.Column) + ")"
	case Sum:
		return "coalesce(sum(" + ident(r.Measure.Column) + "), 0)"
	}
	return "count(*)"
}

// sql builds the rule's query. Columns: the key columns, ws, v, first,
// last, n, baseline (NULL unless a baseline rule).
func (r *Rule) sql(table string, p plan, where *filter.Expr) (string, []any) {
	keys := make([]string, len(r.GroupBy))
	for i, k := range r.GroupBy {
		keys[i] = ident(k)
	}
	keyList := strings.Join(keys, ", ")
	w := strconv.FormatInt(p.w, 10)
	args := []any{p.first - p.history, p.last + p.w}
	cond, args := r.condSQL(args, where)
	agg := "SELECT " + keyList + `, ("start" // ` + w + `) * ` + w + ` AS ws, ` + r.measureSQL() + ` AS v, min("start") AS first_seen, max("end") AS last_seen, count(*) AS n` +
		"\nFROM " + table + `
WHERE "start" >= ? AND "start" < ? AND ` + cond + "\nGROUP BY " + keyList + ", ws"
	order := "\nORDER BY ws, " + keyList
	switch {
	case r.Baseline != nil:
		b := r.Baseline
		frame := strconv.FormatInt(int64(b.Windows)*p.w, 10)
		args = append(args, p.first, r.Threshold)
		// The average divides by the previous windows the data covers.
		avg := `CAST(hist AS DOUBLE) / least(` + strconv.Itoa(b.Windows) + `, (ws - ` + strconv.FormatInt(p.dataOrg, 10) + `) // ` + w + `)`
		q := "WITH b AS (" + agg + `),
x AS (SELECT *, coalesce(sum(v) OVER (PARTITION BY ` + keyList + ` ORDER BY ws RANGE BETWEEN ` + frame + ` PRECEDING AND 1 PRECEDING), 0) AS hist FROM b)
SELECT ` + keyList + `, ws, v, first_seen, last_seen, n, ` + avg + ` AS baseline FROM x
WHERE ws >= ? AND v >= ? AND CAST(v AS DOUBLE) >= ` + strconv.FormatFloat(b.Factor, 'g', -1, 64) + ` * ` + avg + order
		return q, args
	case r.NewKey != nil:
		frame := strconv.FormatInt(int64(r.NewKey.Lookback/time.Second), 10)
		args = append(args, p.first, r.Threshold)
		q := "WITH b AS (" + agg + `),
x AS (SELECT *, count(*) OVER (PARTITION BY ` + keyList + ` ORDER BY ws RANGE BETWEEN ` + frame + ` PRECEDING AND 1 PRECEDING) AS prev FROM b)
SELECT ` + keyList + `, ws, v, first_seen, last_seen, n, CAST(NULL AS DOUBLE) AS baseline FROM x
WHERE ws >= ? AND v >= ? AND prev = 0` + order
		return q, args
	}
	args = append(args, r.Threshold)
	q := "SELECT *, CAST(NULL AS DOUBLE) AS baseline FROM (" + agg + "\nHAVING " + r.measureSQL() + " >= ?) AS t" + order
	return q, args
}

func evalRule(ctx context.Context, q Querier, r *Rule, opt Options, lo, hi, wm int64) (RuleStats, []alert.Alert, error) {
	begin := time.Now()
	p := planRule(r, opt, lo, hi, wm)
	st := RuleStats{Rule: r.ID, Pending: p.pending}
	if p.first > p.last {
		st.Skipped = p.skipNote
		return st, nil, nil
	}
	st.From, st.To = time.Unix(p.first, 0).UTC(), time.Unix(p.last+p.w, 0).UTC()
	query, args := r.sql(opt.Table, p, opt.Where)
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return st, nil, err
	}
	var alerts []alert.Alert
	nk := len(r.GroupBy)
	vals := make([]any, nk+6)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return st, nil, err
		}
		a := alert.Alert{
			Rule: r.ID, Title: r.Title, Severity: r.Severity, Description: r.Description, MITRE: r.MITRE,
			Measure: r.Measure.String(), Threshold: r.Threshold,
		}
		for i, k := range r.GroupBy {
			a.Key = append(a.Key, alert.Pair{Name: FilterName(k), Value: normalise(vals[i])})
		}
		ws, _ := asInt(vals[nk])
		v, _ := asInt(normalise(vals[nk+1]))
		first, _ := asInt(vals[nk+2])
		last, _ := asInt(vals[nk+3])
		n, _ := asInt(vals[nk+4])
		a.Value, a.Flows = v, n
		a.WindowStart, a.WindowEnd = time.Unix(ws, 0).UTC(), time.Unix(ws+p.w, 0).UTC()
		a.FirstSeen, a.LastSeen = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		if b, ok := vals[nk+5].(float64); ok {
			a.Baseline = &b
		}
		a.SetID()
		alerts = append(alerts, a)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return st, nil, err
	}
	if r.Samples > 0 && len(alerts) > 0 {
		if err := samples(ctx, q, r, opt, p, query, args, alerts); err != nil {
			return st, nil, fmt.Errorf("samples: %w", err)
		}
	}
	for i := range alerts {
		alerts[i].FollowUp = followUp(r, &alerts[i], opt)
	}
	st.Alerts = len(alerts)
	st.Elapsed = time.Since(begin)
	return st, alerts, nil
}

// normalise maps driver values to the types alert.Pairs hold.
func normalise(v any) any {
	switch x := v.(type) {
	case nil, string, int64, bool, float64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return float64(x)
	case uint32:
		return int64(x)
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case interface{ Float64() float64 }:
		f := x.Float64()
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f)
		}
		return f
	}
	if s, ok := v.(fmt.Stringer); ok {
		// HUGEINT sums come back as *big.Int.
		if n, err := strconv.ParseInt(s.String(), 10, 64); err == nil {
			return n
		}
		return s.String()
	}
	return fmt.Sprint(v)
}

// sampleColumns are the columns every sample flow shows.
var sampleColumns = []string{"interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log_status"}

// samples fetches the first flows of every alert's key and window in one
// query: the rule's query again as the set of hits, joined with the flows.
func samples(ctx context.Context, q Querier, r *Rule, opt Options, p plan, hitsSQL string, hitsArgs []any, alerts []alert.Alert) error {
	cols := append([]string(nil), sampleColumns...)
	for _, k := range r.GroupBy {
		if !contains(cols, k) {
			cols = append(cols, k)
		}
	}
	var hk, on, part []string
	for i, k := range r.GroupBy {
		h := "hk" + strconv.Itoa(i)
		hk = append(hk, ident(k)+" AS "+h)
		on = append(on, "f."+ident(k)+" IS NOT DISTINCT FROM h."+h)
		part = append(part, "h."+h)
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "f." + ident(c)
	}
	w := strconv.FormatInt(p.w, 10)
	args := append(append([]any(nil), hitsArgs...), p.first, p.last+p.w)
	cond, args := r.condSQL(args, opt.Where)
	query := "WITH hits AS (SELECT " + strings.Join(hk, ", ") + ", ws AS hws FROM (" + hitsSQL + ") AS m)\n" +
		"SELECT h.hws, " + strings.Join(part, ", ") + ", " + strings.Join(sel, ", ") +
		"\nFROM " + opt.Table + " AS f JOIN hits AS h ON " + strings.Join(on, " AND ") +
		` AND f."start" >= h.hws AND f."start" < h.hws + ` + w +
		"\nWHERE f.\"start\" >= ? AND f.\"start\" < ? AND " + cond +
		"\nQUALIFY row_number() OVER (PARTITION BY h.hws, " + strings.Join(part, ", ") + ` ORDER BY f."start", f."end") <= ` + strconv.Itoa(r.Samples) +
		"\nORDER BY h.hws, " + strings.Join(part, ", ") + `, f."start", f."end"`
	byKey := map[string]*alert.Alert{}
	for i := range alerts {
		a := &alerts[i]
		byKey[strconv.FormatInt(a.WindowStart.Unix(), 10)+"|"+a.Key.String()] = a
	}
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	nk := len(r.GroupBy)
	vals := make([]any, 1+nk+len(cols))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		ws, _ := asInt(vals[0])
		key := make(alert.Pairs, nk)
		for i, k := range r.GroupBy {
			key[i] = alert.Pair{Name: FilterName(k), Value: normalise(vals[1+i])}
		}
		a := byKey[strconv.FormatInt(ws, 10)+"|"+key.String()]
		if a == nil {
			continue
		}
		row := make(alert.Pairs, 0, len(cols))
		for i, c := range cols {
			row = append(row, alert.Pair{Name: FilterName(c), Value: normalise(vals[1+nk+i])})
		}
		a.Samples = append(a.Samples, row)
	}
	return rows.Err()
}

// followUp builds the command that lists the alert's flows: the rule's
// filter and the key as --where, the window as --since/--until.
func followUp(r *Rule, a *alert.Alert, opt Options) string {
	parts := []string{"(" + strings.Join(strings.Fields(r.Filter), " ") + ")"}
	if opt.Where != nil {
		parts = append(parts, "("+strings.Join(strings.Fields(opt.Where.Source()), " ")+")")
	}
	for _, kv := range a.Key {
		parts = append(parts, kv.Name+" = "+filterLiteral(kv.Value))
	}
	cmd := opt.FollowUp + " " + shellQuote(`SELECT * FROM flows ORDER BY "start"`) +
		" --where " + shellQuote(strings.Join(parts, " and ")) +
		" --since " + a.WindowStart.Format(time.RFC3339) + " --until " + a.WindowEnd.Format(time.RFC3339)
	if opt.FollowUpArgs != "" {
		cmd += " " + opt.FollowUpArgs
	}
	return cmd
}

// filterLiteral writes a key value as a filter-language literal.
func filterLiteral(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if x != "" && strings.IndexFunc(x, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == ':' || r == '-' || r == '/')
		}) < 0 && (x[0] < 'a' || x[0] > 'z') && (x[0] < 'A' || x[0] > 'Z') {
			return x // addresses, numbers
		}
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(x) + `"`
	}
	return alert.ValueString(v)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ShellQuote quotes s for a POSIX shell (for FollowUpArgs).
func ShellQuote(s string) string { return shellQuote(s) }
