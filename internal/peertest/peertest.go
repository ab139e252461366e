// Package peertest finds the fixtures other flow-log readers ("peers") test
// themselves with. They live beside the repository, in
// ../shared/fixtures/peers from its root, or where FLOWLENS_PEER_FIXTURES
// (or its older name FLOWLENS_PEERS) says; they are not part of the
// repository.
package peertest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the fixtures folder. Without it the test is skipped, except
// when CI=true, where it fails.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("FLOWLENS_PEER_FIXTURES")
	if dir == "" {
		dir = os.Getenv("FLOWLENS_PEERS")
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		root := wd
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				t.Fatalf("no go.mod above %s", wd)
			}
			root = parent
		}
		dir = filepath.Join(root, "..", "shared", "fixtures", "peers")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("peer fixtures are required when CI=true: %v", err)
		}
		t.Skipf("peer fixtures not available (%v); set FLOWLENS_PEER_FIXTURES", err)
	}
	return dir
}
