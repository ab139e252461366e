package hugemem

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestMake(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 3 << 20} {
		s := Make[[5]uint64](n)
		if len(s) != n {
			t.Fatalf("Make(%d): len %d", n, len(s))
		}
		for i := range s {
			if s[i] != ([5]uint64{}) {
				t.Fatalf("Make(%d): element %d not zero", n, i)
			}
			s[i][4] = uint64(i)
		}
		for i := range s {
			if s[i][4] != uint64(i) {
				t.Fatalf("Make(%d): element %d reads %d", n, i, s[i][4])
			}
		}
	}
}

// TestAdviseAccepted checks that the kernel takes the hint as given
// (rounded to huge pages, inside the heap's mapping) wherever it has
// transparent huge pages at all.
func TestAdviseAccepted(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the hint is Linux-only; elsewhere Advise does nothing")
	}
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || !strings.Contains(string(b), "[") {
		t.Skip("kernel without transparent huge pages")
	}
	for _, n := range []int{MinBytes, 5<<20 + 123, 64 << 20} {
		if err := Advise(make([]byte, n)); err != nil {
			t.Errorf("Advise(%d bytes): %v", n, err)
		}
	}
	if err := Advise(make([]byte, 100)); err != nil {
		t.Errorf("small slice: %v", err)
	}
}
