package cli

import (
	"path/filepath"
	"testing"

	"github.com/flowlens/flowlens/query/top"
	"github.com/flowlens/flowlens/store/duckdb"
)

// TestPairTotalsChoice: top over a database reads the pair totals only
// when they hold the answer.
func TestPairTotalsChoice(t *testing.T) {
	cfg := duckdb.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "f.duckdb")
	cfg.MemoryLimit = 1 << 30
	st, err := duckdb.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mem, err := duckdb.OpenMemory(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	for _, tc := range []struct {
		name     string
		keys     string
		filtered bool
		memory   bool
		want     bool
	}{
		{"pairs", "srcaddr,dstaddr", false, false, true},
		{"pairs reversed", "dstaddr,srcaddr", false, false, true},
		{"one side", "dstaddr", false, false, true},
		{"other key", "srcaddr,dstport", false, false, false},
		{"time range or filter", "srcaddr", true, false, false},
		{"ad-hoc store", "srcaddr", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := top.ParseKeys(tc.keys)
			if err != nil {
				t.Fatal(err)
			}
			sf := storeFlags{timeFilter: tc.filtered}
			s := st
			if tc.memory {
				s = mem
			}
			if _, ok := pairTotals(s, &sf, keys); ok != tc.want {
				t.Errorf("uses the pair totals: %v, want %v", ok, tc.want)
			}
		})
	}
}
