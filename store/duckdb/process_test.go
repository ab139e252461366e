package duckdb

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/store"
)

// Environment of the helper processes the tests start from this binary.
const (
	envHelper = "FLOWLENS_STORE_HELPER"
	envDB     = "FLOWLENS_STORE_DB"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envHelper); mode != "" {
		os.Exit(helperMain(mode, os.Getenv(envDB)))
	}
	os.Exit(m.Run())
}

// Objects the kill helper ingests.
const (
	doneObject    = "/logs/done.log"
	partialObject = "/logs/partial.log"
	doneRows      = 1000
)

// helperMain runs in a child process.
func helperMain(mode, path string) int {
	ctx := context.Background()
	switch mode {
	case "open-writer", "open-reader":
		s, err := Open(Config{Path: path, ReadOnly: mode == "open-reader"})
		if err != nil {
			fmt.Println(err)
			return 0
		}
		s.Close()
		fmt.Println("opened")
		return 0
	case "kill-idle", "kill-busy":
		// kill-idle stops in an open transaction after a few small loads;
		// kill-busy goes on loading, and past 122,880 rows (a row group)
		// DuckDB writes uncommitted rows into the database file itself.
		flushRows, signalRound := 500, 2
		if mode == "kill-busy" {
			flushRows, signalRound = 50_000, 150
		}
		s, err := Open(Config{Path: path, FlushRows: flushRows})
		if err != nil {
			fmt.Println(err)
			return 1
		}
		ingest(helperTB{}, s, []store.Object{fileObject(doneObject, 1)},
			[][]*flowlog.Batch{parseBatches(helperTB{}, flowlog.V2, v2Lines(doneRows, 1), 250)})
		tx, err := s.Begin(ctx)
		if err == nil {
			err = tx.BeginObject(ctx, fileObject(partialObject, 1))
		}
		if err != nil {
			fmt.Println(err)
			return 1
		}
		batches := parseBatches(helperTB{}, flowlog.V2, v2Lines(2000, 2), 250)
		for round := 0; ; round++ {
			for _, b := range batches {
				if err := tx.Append(ctx, b); err != nil {
					fmt.Println(err)
					return 1
				}
			}
			if round == signalRound {
				// Several loads of the partial object are in the table.
				fmt.Println("mid-ingest")
				if mode == "kill-idle" {
					select {}
				}
			}
		}
	}
	fmt.Println("unknown helper mode", mode)
	return 2
}

// helperTB lets the test helpers run outside a test: failures exit.
type helperTB struct{ testing.TB }

func (helperTB) Helper() {}
func (helperTB) Fatal(args ...any) {
	fmt.Println(args...)
	os.Exit(1)
}
func (helperTB) Fatalf(format string, args ...any) {
	fmt.Printf(format+"\n", args...)
	os.Exit(1)
}

// helper starts this test binary in a helper mode.
func helper(t *testing.T, mode, path string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelper+"="+mode, envDB+"="+path)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestKilledIngestLeavesNothing(t *testing.T) {
	for _, mode := range []string{"kill-idle", "kill-busy"} {
		t.Run(mode, func(t *testing.T) {
			path := t.TempDir() + "/flows.duckdb"
			cmd := helper(t, mode, path)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(out).ReadString('\n')
			if strings.TrimSpace(line) != "mid-ingest" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("helper said %q (%v), want mid-ingest", line, err)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("helper exit: %v, want killed", err)
			}

			// The killed writer's lock is gone with it; the store reopens
			// holding only the committed object.
			s, err := Open(Config{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got := queryAll(t, s, "SELECT source, count(*) FROM flows GROUP BY source")
			if d := cmp.Diff([][]any{{doneObject, int64(doneRows)}}, got); d != "" {
				t.Errorf("rows per source after kill (-want +got):\n%s", d)
			}
			entries, err := s.Ledger(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range entries {
				ids = append(ids, e.ID)
			}
			if d := cmp.Diff([]string{doneObject}, ids); d != "" {
				t.Errorf("ledger after kill (-want +got):\n%s", d)
			}
			if st, err := s.Check(context.Background(), fileObject(partialObject, 1)); err != nil || st != store.StatusNew {
				t.Errorf("partial object status %v (err %v), want new", st, err)
			}
		})
	}
}

func TestLockedBySecondProcess(t *testing.T) {
	s, path := openTemp(t, nil)
	want := fmt.Sprintf("store is locked by PID %d (%s)", os.Getpid(), s.Path())
	cases := []struct {
		name, mode string
	}{
		{"second writer", "open-writer"},
		{"reader while a writer is active", "open-reader"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := helper(t, tc.mode, path).Output()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(out)); got != want {
				t.Errorf("helper said %q, want %q", got, want)
			}
		})
	}
	// The same from within the process, as a typed error.
	_, err := Open(Config{Path: path})
	if le, ok := err.(*store.LockedError); !ok || le.PID != os.Getpid() || le.Error() != want {
		t.Errorf("in-process second writer: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"open-reader", "open-writer"} {
		out, err := helper(t, mode, path).Output()
		if err != nil || strings.TrimSpace(string(out)) != "opened" {
			t.Errorf("%s after the writer closed: %q (%v)", mode, out, err)
		}
	}
}
