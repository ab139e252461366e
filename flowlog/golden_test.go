package flowlog_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenInput is a testdata/*.good.log or *.bad.log file prepared for the
// parser. Lines starting with '#' are notes for the test; they are fed to
// the parser as blank lines so line numbers stay those of the file.
//
//	# format: <fields>    the format before any header line ("v2", "tgw" or
//	                      a format string); v2 when absent
//	# want: <reason>      the next data line must be rejected for <reason>
//
// Every data line without a "# want" note must be accepted.
type goldenInput struct {
	format *flowlog.Format
	data   []byte
	want   map[int64]string // line number -> reason
	json   bool             // some line holds JSON
}

func readGoldenInput(t *testing.T, path string) goldenInput {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in := goldenInput{format: flowlog.V2, want: map[int64]string{}}
	lines := strings.Split(string(raw), "\n")
	pending := ""
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "#") {
			if pending != "" && trimmed != "" {
				in.want[int64(i+1)] = pending
				pending = ""
			}
			if strings.HasPrefix(trimmed, "{") {
				in.json = true
			}
			continue
		}
		lines[i] = ""
		note := strings.TrimSpace(strings.TrimPrefix(trimmed, "#"))
		switch {
		case strings.HasPrefix(note, "format:"):
			spec := strings.TrimSpace(strings.TrimPrefix(note, "format:"))
			switch spec {
			case "v2":
				in.format = flowlog.V2
			case "tgw":
				in.format = flowlog.TGW
			default:
				f, err := flowlog.ParseFormat(spec)
				if err != nil {
					t.Fatalf("%s line %d: %v", path, i+1, err)
				}
				in.format = f
			}
		case strings.HasPrefix(note, "want:"):
			pending = strings.TrimSpace(strings.TrimPrefix(note, "want:"))
		}
	}
	if pending != "" {
		t.Fatalf("%s: a want note with no line after it", path)
	}
	in.data = []byte(strings.Join(lines, "\n"))
	return in
}

// renderGolden writes what a parse produced: the starting format, one
// record per line, the counters and every rejected line.
func renderGolden(f *flowlog.Format, b *flowlog.Batch, ch *flowlog.Chunk) []byte {
	var sb strings.Builder
	fs, _ := json.Marshal(f.String())
	fmt.Fprintf(&sb, "{\n  \"format\": %s,\n  \"records\": [", fs)
	for i := range b.N {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("\n    ")
		sb.WriteString(renderRecord(b, i))
	}
	if b.N > 0 {
		sb.WriteString("\n  ")
	}
	sb.WriteString("],\n")
	st := ch.Stats
	reasons := make([]string, 0, len(st.Reasons))
	for k := range st.Reasons {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	var rs []string
	for _, k := range reasons {
		key, _ := json.Marshal(k)
		rs = append(rs, fmt.Sprintf("%s: %d", key, st.Reasons[k]))
	}
	fmt.Fprintf(&sb, "  \"stats\": {\"lines\": %d, \"records\": %d, \"bad\": %d, \"headers\": %d, \"blank\": %d, \"json_lines\": %d, \"control\": %d, \"reasons\": {%s}},\n",
		st.Lines, st.Records, st.Bad, st.Headers, st.Blank, st.JSONLines, st.Control, strings.Join(rs, ", "))
	sb.WriteString("  \"errors\": [")
	for i, e := range ch.Errors {
		if i > 0 {
			sb.WriteByte(',')
		}
		msg, _ := json.Marshal(e.Error())
		reason, _ := json.Marshal(e.Reason)
		fmt.Fprintf(&sb, "\n    {\"line\": %d, \"reason\": %s, \"message\": %s}", e.Line, reason, msg)
	}
	if len(ch.Errors) > 0 {
		sb.WriteString("\n  ")
	}
	sb.WriteString("]\n}\n")
	return []byte(sb.String())
}

// TestGolden parses every testdata/*.good.log and *.bad.log file and
// compares the outcome with testdata/<name>.golden.json (go test ./flowlog
// -update rewrites them).
func TestGolden(t *testing.T) {
	good, _ := filepath.Glob("testdata/*.good.log")
	bad, _ := filepath.Glob("testdata/*.bad.log")
	if len(good) == 0 || len(bad) == 0 {
		t.Fatal("no testdata files")
	}
	seen := map[string]string{}
	for _, path := range append(good, bad...) {
		name := strings.TrimSuffix(filepath.Base(path), ".log")
		base := strings.TrimSuffix(strings.TrimSuffix(name, ".good"), ".bad")
		if other, ok := seen[base]; ok {
			t.Fatalf("%s and %s would share a golden file", other, path)
		}
		seen[base] = path
		t.Run(name, func(t *testing.T) {
			in := readGoldenInput(t, path)
			p := flowlog.NewParser(in.format, schema.All())
			p.KeepErrors = 1 << 20
			b := flowlog.NewBatch()
			var ch flowlog.Chunk
			p.ParseChunk(in.data, b, &ch)
			checkRectangular(t, b)

			st := ch.Stats
			if int(st.Records) != b.N {
				t.Errorf("stats count %d records, batch holds %d", st.Records, b.N)
			}
			if !in.json && st.Lines != st.Records+st.Bad+st.Headers+st.Blank {
				t.Errorf("lines %d != records %d + bad %d + headers %d + blank %d", st.Lines, st.Records, st.Bad, st.Headers, st.Blank)
			}
			if strings.HasSuffix(name, ".good") && (st.Records == 0 || st.Bad != 0) {
				t.Errorf("a good file must give records and no bad lines: %+v", st)
			}
			if strings.HasSuffix(name, ".bad") && len(in.want) == 0 {
				t.Errorf("a bad file needs # want notes")
			}
			gotReasons := map[int64]string{}
			for _, e := range ch.Errors {
				gotReasons[e.Line] = e.Reason
			}
			if diff := cmp.Diff(in.want, gotReasons); diff != "" {
				t.Errorf("rejected lines (-# want notes +parser):\n%s", diff)
			}

			got := renderGolden(in.format, b, &ch)
			golden := filepath.Join("testdata", base+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./flowlog -update)", err)
			}
			if !json.Valid(want) {
				t.Fatalf("%s is not valid JSON", golden)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("output differs from %s (-golden +got):\n%s", golden, diff)
			}
		})
	}
}

// TestGoldenRecordsRoundTrip checks that every record of the good files
// prints back to a text line that parses to the same record.
func TestGoldenRecordsRoundTrip(t *testing.T) {
	good, _ := filepath.Glob("testdata/*.good.log")
	for _, path := range good {
		in := readGoldenInput(t, path)
		p := flowlog.NewParser(in.format, schema.All())
		var ch flowlog.Chunk
		for _, line := range bytes.Split(in.data, []byte("\n")) {
			if bytes.HasPrefix(bytes.TrimSpace(line), []byte("{")) {
				continue // JSON may carry fields outside the format
			}
			b := flowlog.NewBatch()
			p.ParseChunk(line, b, &ch)
			if b.N != 1 {
				continue // a header or a blank line
			}
			f := p.Format()
			text := printLine(f, b, 0)
			b2 := flowlog.NewBatch()
			b2.Reset(p.Present(f))
			if err := p.ParseLine([]byte(text), b2); err != nil {
				t.Errorf("%s: printed record %q does not parse: %v", path, text, err)
				continue
			}
			if diff := cmp.Diff(stringIPs(records(b)), stringIPs(records(b2))); diff != "" {
				t.Errorf("%s: %q round trip differs:\n%s", path, line, diff)
			}
		}
	}
}
