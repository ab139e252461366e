package duckdb

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/source/cwl"
	"github.com/flowlens/flowlens/store"
)

// The ingest transaction carries cursors; the store reads them.
var (
	_ cwl.CursorStore  = (*tx)(nil)
	_ cwl.CursorReader = (*Store)(nil)
)

type cursorState struct {
	Last map[string]int64
	Seen map[string]map[string]int64
}

func loadCursors(t *testing.T, r cwl.CursorReader, group string) cursorState {
	t.Helper()
	last, seen, err := r.CWLCursors(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	return cursorState{last, seen}
}

func TestCursorSaveLoad(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t, nil)
	empty := cursorState{map[string]int64{}, map[string]map[string]int64{}}
	if d := cmp.Diff(empty, loadCursors(t, s, "g")); d != "" {
		t.Fatalf("fresh store (-want +got):\n%s", d)
	}

	type save struct {
		group    string
		last     map[string]int64
		added    map[string]map[string]int64
		keepFrom map[string]int64
		commit   bool
	}
	steps := []struct {
		name  string
		save  save
		group string
		want  cursorState
	}{
		{"first cursors", save{"g",
			map[string]int64{"a": 100, "b": 50},
			map[string]map[string]int64{"a": {"e1": 95, "e2": 100}, "b": {"e3": 50}},
			map[string]int64{"a": 90, "b": 40}, true},
			"g", cursorState{map[string]int64{"a": 100, "b": 50},
				map[string]map[string]int64{"a": {"e1": 95, "e2": 100}, "b": {"e3": 50}}}},
		{"rolled back: nothing changes", save{"g",
			map[string]int64{"a": 500}, map[string]map[string]int64{"a": {"e9": 500}}, map[string]int64{"a": 490}, false},
			"g", cursorState{map[string]int64{"a": 100, "b": 50},
				map[string]map[string]int64{"a": {"e1": 95, "e2": 100}, "b": {"e3": 50}}}},
		{"advance prunes ids before keepFrom, other streams untouched", save{"g",
			map[string]int64{"a": 110}, map[string]map[string]int64{"a": {"e4": 110}}, map[string]int64{"a": 100}, true},
			"g", cursorState{map[string]int64{"a": 110, "b": 50},
				map[string]map[string]int64{"a": {"e2": 100, "e4": 110}, "b": {"e3": 50}}}},
		{"groups are separate", save{"other",
			map[string]int64{"a": 7}, map[string]map[string]int64{"a": {"x": 7}}, map[string]int64{"a": 0}, true},
			"g", cursorState{map[string]int64{"a": 110, "b": 50},
				map[string]map[string]int64{"a": {"e2": 100, "e4": 110}, "b": {"e3": 50}}}},
		{"the other group", save{}, "other",
			cursorState{map[string]int64{"a": 7}, map[string]map[string]int64{"a": {"x": 7}}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.save.group != "" {
				txn, err := s.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer txn.Rollback()
				cs := txn.(cwl.CursorStore)
				if err := cs.SaveCWLCursors(ctx, st.save.group, st.save.last, st.save.added, st.save.keepFrom); err != nil {
					t.Fatal(err)
				}
				if st.save.commit {
					err = txn.Commit(ctx)
				} else {
					err = txn.Rollback()
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if d := cmp.Diff(st.want, loadCursors(t, s, st.group)); d != "" {
				t.Errorf("cursors (-want +got):\n%s", d)
			}
		})
	}

	// The cursors survive a reopen, read-only too.
	s.Close()
	ro, err := Open(Config{Path: path, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if d := cmp.Diff(steps[3].want, loadCursors(t, ro, "g")); d != "" {
		t.Errorf("after reopen (-want +got):\n%s", d)
	}
}

// TestCursorCommitsWithRows checks that a cursor and the rows it accounts
// for are one transaction: the transaction sees its own cursor, a rollback
// drops both, a commit keeps both.
func TestCursorCommitsWithRows(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, nil)
	batches := parseBatches(t, flowlog.V2, v2Lines(30, 1), 30)
	for _, commit := range []bool{false, true} {
		txn, err := s.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer txn.Rollback()
		obj := store.Object{ID: "cwl://g#e1", Size: 1}
		if err := txn.BeginObject(ctx, obj); err != nil {
			t.Fatal(err)
		}
		if err := txn.Append(ctx, batches[0]); err != nil {
			t.Fatal(err)
		}
		if err := txn.EndObject(ctx, store.Result{Records: 30}); err != nil {
			t.Fatal(err)
		}
		cs := txn.(cwl.CursorStore)
		if err := cs.SaveCWLCursors(ctx, "g", map[string]int64{"s": 9}, map[string]map[string]int64{"s": {"e1": 9}},
			map[string]int64{"s": 0}); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(cursorState{map[string]int64{"s": 9}, map[string]map[string]int64{"s": {"e1": 9}}}, loadCursors(t, cs, "g")); d != "" {
			t.Errorf("inside the transaction (-want +got):\n%s", d)
		}
		if commit {
			err = txn.Commit(ctx)
		} else {
			err = txn.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		wantRows, wantLast := int64(0), map[string]int64{}
		if commit {
			wantRows, wantLast = 30, map[string]int64{"s": 9}
		}
		if n := count(t, s, `SELECT count(*) FROM flows`); n != wantRows {
			t.Errorf("commit=%v: %d rows, want %d", commit, n, wantRows)
		}
		if d := cmp.Diff(wantLast, loadCursors(t, s, "g").Last); d != "" {
			t.Errorf("commit=%v: cursors (-want +got):\n%s", commit, d)
		}
	}
}
