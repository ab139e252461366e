package intel

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks, for every format, that parsing never panics, that each
// line is counted once (accepted + ignored + rejected = lines) and that
// every accepted indicator has a valid, masked prefix.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, p := range files {
		if filepath.Ext(p) == ".json" && filepath.Ext(p[:len(p)-5]) == ".golden" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, uint8(0))
		}
	}
	f.Add([]byte("1.2.3.4\n\"a,b\n{\"cidr\":\"::/0\"}\nExitAddress ::1 x\n"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, fm uint8) {
		format := Format(fm % uint8(len(formatNames)))
		res := Parse(data, format, "fuzz")
		if res.Accepted+res.Ignored+res.Rejected != res.Lines {
			t.Fatalf("accepted %d + ignored %d + rejected %d != lines %d", res.Accepted, res.Ignored, res.Rejected, res.Lines)
		}
		if len(res.Indicators) != res.Accepted {
			t.Fatalf("%d indicators for %d accepted lines", len(res.Indicators), res.Accepted)
		}
		if len(res.Errors) != min(res.Rejected, MaxLineErrors) {
			t.Fatalf("%d errors for %d rejected lines", len(res.Errors), res.Rejected)
		}
		for _, in := range res.Indicators {
			if !in.Prefix.IsValid() || in.Prefix.Masked() != in.Prefix || in.Prefix.Addr().Is4In6() {
				t.Fatalf("bad prefix %v", in.Prefix)
			}
		}
		set := NewSet(res.Indicators)
		for _, in := range res.Indicators {
			if !set.Contains(in.Prefix.Addr()) {
				t.Fatalf("set does not contain %v", in.Prefix)
			}
		}
	})
}
