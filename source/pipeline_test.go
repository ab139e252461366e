package source_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/source"
	"github.com/flowlens/flowlens/source/local"
)

// v2line renders a v2 record whose fields are derived from i.
func v2line(i int) string {
	return fmt.Sprintf("2 123456789010 eni-%08x 10.0.%d.%d 198.51.100.%d %d 443 6 %d %d %d %d ACCEPT OK",
		i, (i/250)%250, i%250+1, i%200+1, 32768+i%20000, i%50+1, 40+i*7, 1700000000+i, 1700000060+i)
}

// rows renders every row of a run as "field=value ..." strings.
type collector struct {
	rows    []string
	sources []string
}

func (c *collector) Batch(b *flowlog.Batch) error {
	for i := 0; i < b.N; i++ {
		var parts []string
		for _, id := range b.Present.IDs() {
			parts = append(parts, fmt.Sprintf("%s=%v", schema.Fields[id].Column, b.Value(id, i)))
		}
		c.rows = append(c.rows, strings.Join(parts, " "))
		c.sources = append(c.sources, b.Source)
	}
	return nil
}

// direct parses lines one by one with a fresh parser: the reference.
func direct(t *testing.T, f *flowlog.Format, lines []string) []string {
	t.Helper()
	c := &collector{}
	p := flowlog.NewParser(f, schema.All())
	b := flowlog.NewBatch()
	var ch flowlog.Chunk
	p.ParseChunk([]byte(strings.Join(lines, "\n")), b, &ch)
	if err := c.Batch(b); err != nil {
		t.Fatal(err)
	}
	return c.rows
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func run(t *testing.T, cfg source.Config, paths ...string) (*collector, *source.Report, error) {
	t.Helper()
	ins, err := local.Expand(paths)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	rep, err := source.Run(context.Background(), cfg, ins, c)
	return c, rep, err
}

func TestOrderAcrossChunksAndFiles(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 5000 {
		lines = append(lines, v2line(i))
	}
	text := []byte(strings.Join(lines, "\n") + "\n")
	a := writeFile(t, dir, "a.log", text[:len(text)/2+17]) // cut mid-line: a's last line is partial
	b := writeFile(t, dir, "b.log.gz", gz(t, text))
	for _, chunk := range []int{64, 1000, 1 << 20} {
		t.Run(fmt.Sprint("chunk", chunk), func(t *testing.T) {
			cfg := source.Config{ChunkSize: chunk, Workers: 3}
			got, rep, err := run(t, cfg, a, b)
			if err != nil {
				t.Fatal(err)
			}
			// a.log ends in a partial line: one bad record, reported with its line.
			nA := strings.Count(string(text[:len(text)/2+17]), "\n")
			want := append(direct(t, flowlog.V2, lines[:nA]), direct(t, flowlog.V2, lines)...)
			if diff := cmp.Diff(want, got.rows); diff != "" {
				t.Fatalf("rows differ (-want +got):\n%s", diff)
			}
			if rep.Total.Bad != 1 || rep.Errors[0].Line != int64(nA+1) || rep.Errors[0].Source != a {
				t.Fatalf("bad=%d errors=%v, want the partial line %d of %s", rep.Total.Bad, rep.Errors, nA+1, a)
			}
			if rep.Inputs[1].Kind != "gzip" || rep.Inputs[0].Kind != "text" {
				t.Fatalf("kinds %s %s", rep.Inputs[0].Kind, rep.Inputs[1].Kind)
			}
			if got.sources[0] != a || got.sources[len(got.sources)-1] != b {
				t.Fatalf("sources not carried: %s .. %s", got.sources[0], got.sources[len(got.sources)-1])
			}
		})
	}
}

func TestHeaderInsideFileSwitchesFormat(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	sb.WriteString("version srcaddr dstaddr action\n")
	var wantRows []string
	for i := range 300 {
		fmt.Fprintf(&sb, "2 10.0.0.%d 10.0.1.1 ACCEPT\n", i%250)
		wantRows = append(wantRows, fmt.Sprintf("version=2 srcaddr=10.0.0.%d dstaddr=10.0.1.1 action=ACCEPT", i%250))
	}
	// A second header in a different order, as concatenated files have.
	sb.WriteString("action dstaddr srcaddr version\n")
	for i := range 300 {
		fmt.Fprintf(&sb, "REJECT 10.0.2.2 10.0.3.%d 2\n", i%250)
		wantRows = append(wantRows, fmt.Sprintf("version=2 srcaddr=10.0.3.%d dstaddr=10.0.2.2 action=REJECT", i%250))
	}
	p := writeFile(t, dir, "h.log", []byte(sb.String()))
	for _, chunk := range []int{50, 4096, 1 << 20} {
		got, rep, err := run(t, source.Config{ChunkSize: chunk, Workers: 2}, p)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantRows, got.rows); diff != "" {
			t.Fatalf("chunk %d: rows differ:\n%s", chunk, diff)
		}
		if rep.Total.Headers != 2 || rep.Total.Bad != 0 {
			t.Fatalf("chunk %d: headers=%d bad=%d", chunk, rep.Total.Headers, rep.Total.Bad)
		}
	}
}

func TestBadLinesCountedAndStrict(t *testing.T) {
	dir := t.TempDir()
	lines := []string{v2line(1), "2 123 eni-1 10.0.0.1", v2line(2), "", v2line(3) + " extra",
		strings.Replace(v2line(4), " 443 ", " https ", 1), strings.Replace(v2line(5), "10.0.", "10.0.0.", 1), v2line(6)}
	p := writeFile(t, dir, "bad.log", []byte(strings.Join(lines, "\n")))
	got, rep, err := run(t, source.Config{ChunkSize: 40}, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.rows) != 3 || rep.Total.Bad != 4 || rep.Total.Blank != 1 || rep.Total.Lines != 8 {
		t.Fatalf("rows=%d stats=%+v", len(got.rows), rep.Total)
	}
	wantLines := []int64{2, 5, 6, 7}
	var gotLines []int64
	for _, e := range rep.Inputs[0].Errors {
		gotLines = append(gotLines, e.Line)
	}
	if diff := cmp.Diff(wantLines[:len(gotLines)], gotLines); diff != "" || len(gotLines) < 4 {
		t.Fatalf("error lines: %v", gotLines)
	}
	wantReasons := map[string]int64{flowlog.ReasonFieldCount: 2, flowlog.ReasonInteger: 1, flowlog.ReasonAddress: 1}
	if diff := cmp.Diff(wantReasons, rep.Total.Reasons); diff != "" {
		t.Fatalf("reasons:\n%s", diff)
	}
	if msg := rep.Errors[2].Error(); !strings.Contains(msg, "bad.log line 6: field dstport: invalid integer \"https\"") {
		t.Fatalf("message %q", msg)
	}

	_, _, err = run(t, source.Config{Strict: true}, p)
	var pe *flowlog.ParseError
	if !errors.Is(err, source.ErrStrict) || !errors.As(err, &pe) || pe.Line != 2 {
		t.Fatalf("strict: %v", err)
	}
}

func TestCorruptGzipKeepsGoodData(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 20000 {
		lines = append(lines, v2line(i))
	}
	z := gz(t, []byte(strings.Join(lines, "\n")+"\n"))
	broken := append([]byte{}, z[:len(z)*2/3]...) // truncated upload
	a := writeFile(t, dir, "1-broken.log.gz", broken)
	b := writeFile(t, dir, "2-good.log", []byte(v2line(99)+"\n"))
	got, rep, err := run(t, source.Config{ChunkSize: 4096}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 1 || rep.Inputs[0].Err == nil || !strings.Contains(rep.Inputs[0].Err.Error(), a) {
		t.Fatalf("failed=%d err=%v", rep.Failed, rep.Inputs[0].Err)
	}
	if last := got.sources[len(got.sources)-1]; last != b {
		t.Fatalf("the good file after the broken one was not read (last source %s)", last)
	}
	n := len(got.rows) - 1
	// Every complete line before the truncation point is kept; the line cut
	// by it is reported as bad.
	if rep.Inputs[0].Stats.Bad != 1 {
		t.Fatalf("bad records in the truncated file: %d", rep.Inputs[0].Stats.Bad)
	}
	if n < 10000 || n >= 20000 {
		t.Fatalf("records decoded before the corruption: %d", n)
	}
	if diff := cmp.Diff(direct(t, flowlog.V2, lines[:n]), got.rows[:n]); diff != "" {
		t.Fatalf("records before the corruption differ:\n%s", diff)
	}
}

func TestLongLinesAndNoFinalNewline(t *testing.T) {
	dir := t.TempDir()
	// A CloudWatch payload on one line, longer than a chunk.
	var ev []string
	var lines []string
	for i := range 300 {
		ev = append(ev, fmt.Sprintf(`{"id":"%d","timestamp":1,"message":%q}`, i, v2line(i)))
		lines = append(lines, v2line(i))
	}
	payload := `{"messageType":"DATA_MESSAGE","logEvents":[` + strings.Join(ev, ",") + `]}`
	p := writeFile(t, dir, "cw.log", []byte(v2line(7)+"\n"+payload+"\n"+v2line(8)))
	got, rep, err := run(t, source.Config{ChunkSize: 256}, p)
	if err != nil {
		t.Fatal(err)
	}
	want := direct(t, flowlog.V2, append(append([]string{v2line(7)}, lines...), v2line(8)))
	if diff := cmp.Diff(want, got.rows); diff != "" {
		t.Fatalf("rows differ:\n%s", diff)
	}
	if rep.Total.JSONLines != 1 {
		t.Fatalf("json lines %d", rep.Total.JSONLines)
	}
	_, rep, _ = run(t, source.Config{ChunkSize: 256, MaxLine: 1024}, p)
	if rep.Failed != 1 || !strings.Contains(rep.Inputs[0].Err.Error(), "line longer than") {
		t.Fatalf("expected a too-long-line error, got %+v", rep.Inputs[0])
	}
}

func TestJSONFiles(t *testing.T) {
	dir := t.TempDir()
	l1, l2, l3 := v2line(1), v2line(2), v2line(3)
	cases := []struct {
		name, body string
		want       []string
	}{
		{"concatenated payloads", fmt.Sprintf(`{"messageType":"DATA_MESSAGE","logEvents":[{"message":%q}]}{"messageType":"CONTROL_MESSAGE","logEvents":[{"message":"CWL CONTROL MESSAGE"}]}{"messageType":"DATA_MESSAGE","logEvents":[{"message":%q},{"message":%q}]}`, l1, l2, l3), []string{l1, l2, l3}},
		{"pretty printed", fmt.Sprintf("{\n  \"logEvents\": [\n    {\"message\": %q}\n  ]\n}\n", l2), []string{l2}},
		{"message lines", fmt.Sprintf("{\"message\": %q}\n{\"message\": %q}\n", l1, l3), []string{l1, l3}},
		{"array", fmt.Sprintf("[{\"message\": %q}, {\"message\": %q}]", l3, l1), []string{l3, l1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "_")+".json.gz", gz(t, []byte(tc.body)))
			got, rep, err := run(t, source.Config{}, p)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(direct(t, flowlog.V2, tc.want), got.rows); diff != "" {
				t.Fatalf("rows differ:\n%s", diff)
			}
			if rep.Inputs[0].Kind != "json" {
				t.Fatalf("kind %s", rep.Inputs[0].Kind)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a/1.log", nil)
	writeFile(t, dir, "a/b/2.log.gz", nil)
	writeFile(t, dir, "a/.hidden/3.log", nil)
	writeFile(t, dir, "a/.4.log", nil)
	writeFile(t, dir, "c.log", nil)
	names := func(args ...string) []string {
		ins, err := local.Expand(args)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, in := range ins {
			out = append(out, strings.TrimPrefix(in.Name(), dir+"/"))
		}
		return out
	}
	if diff := cmp.Diff([]string{"a/1.log", "a/b/2.log.gz"}, names(filepath.Join(dir, "a"))); diff != "" {
		t.Fatal(diff)
	}
	if diff := cmp.Diff([]string{"c.log", "a/1.log", "-"}, names(filepath.Join(dir, "*.log"), filepath.Join(dir, "a/1.log"), "-")); diff != "" {
		t.Fatal(diff)
	}
	if _, err := local.Expand([]string{filepath.Join(dir, "missing.log")}); err == nil {
		t.Fatal("missing file accepted")
	}
	if _, err := local.Expand([]string{filepath.Join(dir, "*.nothing")}); err == nil {
		t.Fatal("empty glob accepted")
	}
}

func TestSinkErrorStopsRun(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 50000 {
		lines = append(lines, v2line(i))
	}
	p := writeFile(t, dir, "big.log", []byte(strings.Join(lines, "\n")))
	stop := errors.New("enough")
	calls := 0
	ins, _ := local.Expand([]string{p, p + ""})
	_, err := source.Run(context.Background(), source.Config{ChunkSize: 4096}, ins, source.SinkFunc(func(*flowlog.Batch) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	}))
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}

// countSink counts rows per srcaddr; as a ParallelSink it counts on the
// workers and takes back rows parsed with a stale format.
type countSink struct {
	counts  map[string]int
	workers []map[string]int
	undos   int
}

func (c *countSink) add(m map[string]int, b *flowlog.Batch, sign int) {
	for i := 0; i < b.N; i++ {
		a, _ := b.IP(schema.FSrcAddr, i)
		m[a.String()] += sign
	}
}
func (c *countSink) Workers(n int) {
	c.workers = make([]map[string]int, n)
	for i := range c.workers {
		c.workers[i] = map[string]int{}
	}
}
func (c *countSink) WorkerBatch(w int, b *flowlog.Batch) error { c.add(c.workers[w], b, 1); return nil }
func (c *countSink) Batch(b *flowlog.Batch) error              { c.add(c.counts, b, 1); return nil }
func (c *countSink) Undo(b *flowlog.Batch) error               { c.undos++; c.add(c.counts, b, -1); return nil }
func (c *countSink) total() map[string]int {
	out := map[string]int{}
	for _, m := range append(c.workers, c.counts) {
		for k, v := range m {
			if out[k] += v; out[k] == 0 {
				delete(out, k)
			}
		}
	}
	return out
}

func TestParallelSinkUndoesStaleFormat(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	want := map[string]int{}
	sb.WriteString("version srcaddr dstaddr action\n")
	for i := range 400 {
		fmt.Fprintf(&sb, "2 10.0.0.%d 10.9.9.9 ACCEPT\n", i%7)
		want[fmt.Sprintf("10.0.0.%d", i%7)]++
	}
	// The same layout with the addresses swapped: rows parsed with the
	// stale format are valid but wrong, so they must be taken back.
	sb.WriteString("version dstaddr srcaddr action\n")
	for i := range 400 {
		fmt.Fprintf(&sb, "2 10.9.9.9 10.1.0.%d ACCEPT\n", i%5)
		want[fmt.Sprintf("10.1.0.%d", i%5)]++
	}
	p := writeFile(t, dir, "swap.log", []byte(sb.String()))
	ins, _ := local.Expand([]string{p})
	c := &countSink{counts: map[string]int{}}
	rep, err := source.Run(context.Background(), source.Config{ChunkSize: 64, Workers: 3}, ins, c)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, c.total()); diff != "" {
		t.Fatalf("counts differ (-want +got):\n%s", diff)
	}
	if c.undos == 0 || rep.Total.Records != 800 {
		t.Fatalf("undos=%d records=%d: the stale-format path was not exercised", c.undos, rep.Total.Records)
	}
}
