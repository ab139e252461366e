package cli_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIntelUpdateAndHunt fetches a list from a local server into a cache
// directory, revalidates it (304), lists the cache and hunts with it.
func TestIntelUpdateAndHunt(t *testing.T) {
	_, logPath, iocPath, truth := huntSample(t, 5000, nil)
	// Serve the generated indicators as a plain list with comments.
	var body strings.Builder
	body.WriteString("# generated blocklist\n")
	for _, e := range truth.IOC {
		fmt.Fprintf(&body, "%s # %s\n", e.IP, e.Comment)
	}
	body.WriteString("not-an-address\n")
	var hits, notModified atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("If-None-Match") == `"abc"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"abc"`)
		w.Write([]byte(body.String()))
	}))
	defer ts.Close()
	cache := filepath.Join(t.TempDir(), "intel")
	update := []string{"intel", "update", "--dir", cache, "--url", "blocklist=" + ts.URL + "/list.txt", "blocklist"}

	_, errs, code := flowlens(t, update...)
	if code != 0 || !strings.Contains(errs, fmt.Sprintf("blocklist: updated, %d indicator(s), 1 bad line(s)", len(truth.IOC))) {
		t.Fatalf("first update: exit %d: %s", code, errs)
	}
	_, errs, code = flowlens(t, update...)
	if code != 0 || !strings.Contains(errs, "blocklist: not modified") {
		t.Fatalf("second update: exit %d: %s", code, errs)
	}
	if hits.Load() != 2 || notModified.Load() != 1 {
		t.Errorf("server saw %d requests, %d answered 304; want 2 and 1", hits.Load(), notModified.Load())
	}

	rows := decodeJSON(t, must(t, "intel", "list", "--dir", cache, "-o", "json"))
	if len(rows) != 1 {
		t.Fatalf("intel list: %v", rows)
	}
	got := map[string]string{}
	for _, k := range []string{"list", "format", "indicators", "bad_lines", "url"} {
		got[k] = fmt.Sprint(rows[0][k])
	}
	want := map[string]string{"list": "blocklist", "format": "plain", "indicators": fmt.Sprint(len(truth.IOC)), "bad_lines": "1", "url": ts.URL + "/list.txt"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("intel list (-want +got):\n%s", d)
	}

	// The cached list finds what the CSV list finds.
	fromCache := must(t, "hunt", logPath, "--ioc-dir", cache, "--flows", "-o", "csv")
	fromCSV := must(t, "hunt", logPath, "--ioc", iocPath, "--flows", "-o", "csv")
	norm := func(s string) []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			// Drop the list name column, which differs (blocklist vs iocs).
			f := strings.Split(l, ",")
			out = append(out, strings.Join(f[:len(f)-2], ",")+","+f[len(f)-1])
		}
		return out
	}
	if d := cmp.Diff(norm(fromCSV), norm(fromCache)); d != "" {
		t.Errorf("hunt --ioc-dir differs from hunt --ioc (-csv +cache):\n%s", d)
	}
	if !strings.Contains(fromCache, ",blocklist,") {
		t.Errorf("hunt --ioc-dir rows do not name the list:\n%.300s", fromCache)
	}
}

func TestIntelUpdateErrors(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusGone)
	}))
	defer ts.Close()
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"server error", []string{"intel", "update", "--dir", dir, "--url", "feodo=" + ts.URL, "feodo"}, 1, "HTTP 410"},
		{"unknown feed", []string{"intel", "update", "--dir", dir, "nosuch"}, 2, `unknown feed "nosuch"`},
		{"bad url flag", []string{"intel", "update", "--dir", dir, "--url", "x=ftp://a", "x"}, 2, "want name=http(s)://"},
		{"list without cache", []string{"intel", "list", "--dir", filepath.Join(dir, "none")}, 1, "no intel cache"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := flowlens(t, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tc.code, tc.stderr)
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a failed update left %d file(s) in the cache", len(ents))
	}
}
