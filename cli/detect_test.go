package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDetectCommand runs the shipped rules over a generated file with a
// planted port scan, stores the alerts, and checks dedupe on a re-run, the
// exit code of --fail-on-alert, the NDJSON sink, and rule errors.
func TestDetectCommand(t *testing.T) {
	dir, logPath, iocPath, truth := huntSample(t, 20000, nil)
	if truth.PortScan == nil {
		t.Fatal("no port scan planted")
	}
	db := filepath.Join(dir, "d.duckdb")
	alerts := filepath.Join(dir, "alerts.ndjson")
	args := []string{"detect", logPath, "--db", db, "--own-net", "10.0.0.0/8", "--ioc", iocPath,
		"--rule", "portscan-vertical", "--rule", "threat-intel-contact", "--alerts-file", alerts, "-o", "json"}
	out, errs, code := flowlens(t, append(args, "--fail-on-alert")...)
	if code != 3 {
		t.Fatalf("first run: exit %d, want 3 (alerts raised)\n%s", code, errs)
	}
	rows := decodeJSON(t, out)
	scan, threat := 0, 0
	for _, r := range rows {
		switch r["rule"] {
		case "portscan-vertical":
			scan++
			if !strings.Contains(toJSON(t, r), truth.PortScan.Scanner.String()) {
				t.Errorf("port scan alert does not name the scanner %v: %v", truth.PortScan.Scanner, r)
			}
		case "threat-intel-contact":
			threat++
		}
	}
	if scan != 1 || threat == 0 {
		t.Fatalf("alerts: %d port scan (want 1), %d threat contact (want some)\n%s", scan, threat, out)
	}
	raw, err := os.ReadFile(alerts)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.TrimSpace(string(raw)), "\n") + 1; n != len(rows) {
		t.Errorf("alerts file has %d lines, stdout %d alerts", n, len(rows))
	}
	// The same data again: everything is suppressed, nothing is new.
	out, errs, code = flowlens(t, append(args, "--fail-on-alert")...)
	if code != 0 || len(decodeJSON(t, out)) != 0 {
		t.Fatalf("re-run: exit %d, output %s\n%s", code, out, errs)
	}
	// A rule file with an error names the file and line.
	rules := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := "id: x\ntitle: t\nseverity: low\nfilter: dstport = = 22\ngroup_by: [srcaddr]\nmeasure: count\nthreshold: 1\nwindow: 1h\n"
	if err := os.WriteFile(filepath.Join(rules, "bad.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code = flowlens(t, "detect", logPath, "--rules", rules)
	if code != 2 || !strings.Contains(errs, "bad.yaml:4") {
		t.Errorf("bad rule: exit %d, %q; want 2 and bad.yaml:4", code, errs)
	}
	// The shipped rule tests pass through the CLI.
	must(t, "rules", "test", filepath.Join("..", "detect", "rules", "tests"))
	if out := must(t, "rules", "list", "-o", "csv"); !strings.Contains(out, "portscan-vertical") {
		t.Errorf("rules list lacks portscan-vertical:\n%s", out)
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDetectSinkErrorsHideSecrets checks that the token in a webhook or
// Slack URL shows neither in a usage error nor in a failed delivery's
// message, and that a failed delivery exits 1.
func TestDetectSinkErrorsHideSecrets(t *testing.T) {
	_, logPath, _, _ := huntSample(t, 5000, nil)
	closed := httptest.NewServer(http.NotFoundHandler())
	dead := closed.URL
	closed.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		// say is a part of stderr expected ("" for none).
		say string
	}{
		{"unknown sink kind", []string{"--sink", "slak:https://hooks.slack.com/services/T0/B0/SECRET"}, 2, "unknown kind"},
		{"slack URL without scheme", []string{"--slack", "hooks.slack.com/services/T0/B0/SECRET"}, 2, "Slack URL (URL redacted): want http:// or https://"},
		{"slack sink URL without scheme", []string{"--sink", "slack:hooks.slack.com/services/T0/B0/SECRET"}, 2, "Slack URL (URL redacted)"},
		{"webhook URL without scheme", []string{"--webhook", "hooks.example.com/SECRET"}, 2, "webhook URL (URL redacted)"},
		{"unreachable webhook", []string{"--webhook", dead + "/hook/SECRET?token=SECRET", "--webhook-attempts", "1"}, 1, ""},
		{"unreachable slack", []string{"--slack", dead + "/services/T0/B0/SECRET", "--webhook-attempts", "1"}, 1, ""},
		{"unreachable webhook, alerts kept", []string{"--webhook", dead + "/hook/SECRET", "--webhook-attempts", "1", "--db", filepath.Join(t.TempDir(), "a.duckdb")}, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"detect", logPath, "--rule", "portscan-vertical", "-o", "csv"}, tc.args...)
			_, errs, code := flowlens(t, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, errs)
			}
			if strings.Contains(errs, "SECRET") {
				t.Errorf("stderr shows the secret:\n%s", errs)
			}
			if !strings.Contains(errs, tc.say) {
				t.Errorf("stderr does not say %q:\n%s", tc.say, errs)
			}
			kept := slices.Contains(tc.args, "--db")
			if code == 1 && !kept && !strings.Contains(errs, "held in memory only: give --db") {
				t.Errorf("a failed delivery without --db does not say the alerts are not kept:\n%s", errs)
			}
			if code == 1 && kept && !strings.Contains(errs, "stored and will be sent again") {
				t.Errorf("a failed delivery with --db does not say the alerts are kept:\n%s", errs)
			}
		})
	}
}

// TestRulesTestFindsNothing checks that 'rules test' fails when the paths
// hold no test case, so a mistyped directory cannot pass a CI step.
func TestRulesTestFindsNothing(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	rule := "id: x\ntitle: t\nseverity: low\nfilter: dstport = 22\ngroup_by: [srcaddr]\nmeasure: count\nthreshold: 1\nwindow: 1h\n"
	if err := os.WriteFile(filepath.Join(dir, "x.rule"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	noCases := filepath.Join(dir, "none.yaml")
	if err := os.WriteFile(noCases, []byte("rule_files: [x.rule]\ntests: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
	}{
		{"empty directory", empty},
		{"file without cases", noCases},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := flowlens(t, "rules", "test", tc.path)
			if code != 1 || !strings.Contains(errs, "no rule tests found") {
				t.Errorf("exit %d, stderr %q, stdout %q; want 1 and 'no rule tests found'", code, errs, out)
			}
		})
	}
}

// TestDetectRedeliversToFailedSinkOnly runs detect against a real loopback
// HTTP server with one webhook path that fails and one that works, plus
// an alerts file: later runs send the stored alert again to the failed
// webhook only, a run without that webhook says the alert waits for it,
// and nothing is delivered twice.
func TestDetectRedeliversToFailedSinkOnly(t *testing.T) {
	dir, logPath, _, _ := huntSample(t, 5000, nil)
	var mu sync.Mutex
	down := true
	got := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/down" && down {
			http.Error(w, "upstream down", http.StatusInternalServerError)
			return
		}
		got[r.URL.Path]++
	}))
	defer srv.Close()
	file := filepath.Join(dir, "alerts.ndjson")
	base := []string{"detect", logPath, "--db", filepath.Join(dir, "a.duckdb"), "--rule", "portscan-vertical", "-o", "csv",
		"--alerts-file", file, "--webhook", srv.URL + "/ok", "--webhook-attempts", "1"}
	withDown := append(append([]string(nil), base...), "--webhook", srv.URL+"/down")
	for _, step := range []struct {
		name   string
		args   []string
		up     bool
		code   int
		want   map[string]int // deliveries so far, by path
		stderr string
	}{
		{"first run: one webhook fails", withDown, false, 1, map[string]int{"/ok": 1}, "1 new"},
		{"still down: only it is tried", withDown, false, 1, map[string]int{"/ok": 1}, "1 redelivered"},
		{"failed webhook left out: the alert waits", base, true, 0, map[string]int{"/ok": 1},
			"1 alert(s) failed earlier on webhook " + srv.URL + "/… #"},
		{"back and configured: delivered once", withDown, true, 0, map[string]int{"/ok": 1, "/down": 1}, "1 redelivered"},
		{"nothing left to send", withDown, true, 0, map[string]int{"/ok": 1, "/down": 1}, "0 new"},
	} {
		mu.Lock()
		down = !step.up
		mu.Unlock()
		_, errs, code := flowlens(t, step.args...)
		if code != step.code {
			t.Fatalf("%s: exit %d, want %d\n%s", step.name, code, step.code, errs)
		}
		if !strings.Contains(errs, step.stderr) {
			t.Errorf("%s: stderr does not say %q:\n%s", step.name, step.stderr, errs)
		}
		mu.Lock()
		if d := cmp.Diff(step.want, got); d != "" {
			t.Errorf("%s: deliveries by path (-want +got):\n%s", step.name, d)
		}
		mu.Unlock()
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(raw), "\n"); n != 1 {
			t.Errorf("%s: alerts file has %d lines, want 1", step.name, n)
		}
	}
}
