package output

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzJSONString checks that every string encodes to valid JSON that
// decodes to what encoding/json makes of the same string.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\`, "\x00\x1f\x7f", "café 東京", "\xff\xfe", "a\u2028b\u2029", "\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := appendJSONString(nil, s)
		if !json.Valid(enc) {
			t.Fatalf("invalid JSON %q for %q", enc, s)
		}
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatal(err)
		}
		ref, _ := json.Marshal(s)
		var want string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%q decodes to %q, encoding/json gives %q", s, got, want)
		}
		if b := appendJSONString(nil, []byte(s)); string(b) != string(enc) {
			t.Fatalf("[]byte and string encodings differ: %q vs %q", b, enc)
		}
	})
}

// FuzzCSVField checks that every field reads back unchanged with
// encoding/csv (which turns \r\n inside quotes into \n, so those are
// compared after the same folding).
func FuzzCSVField(f *testing.F) {
	for _, s := range []string{"", "a,b", `"`, "x\ny", "\r\n", " lead", "café"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line := append(appendCSV(nil, []byte(s)), ",end\n"...)
		r := csv.NewReader(strings.NewReader(string(line)))
		r.LazyQuotes = false
		rec, err := r.Read()
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		want := strings.ReplaceAll(s, "\r\n", "\n")
		if len(rec) != 2 || rec[0] != want || rec[1] != "end" {
			t.Fatalf("%q reads back as %q, want [%q end]", line, rec, want)
		}
	})
}
