package awsranges

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func load(t testing.TB) *Ranges {
	t.Helper()
	r, err := Load("testdata/ip-ranges.json")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type result struct {
	Found    bool
	Service  string
	Region   string
	NBG      string
	Services []string
}

func TestLookup(t *testing.T) {
	r := load(t)
	if r.Len() != 15 || r.SyncToken != "1732300000" {
		t.Fatalf("Len %d, sync %q", r.Len(), r.SyncToken)
	}
	tests := []struct {
		addr string
		want result
	}{
		{"52.217.1.1", result{true, "S3", "us-east-1", "us-east-1", []string{"S3", "AMAZON"}}},
		{"54.231.9.9", result{true, "S3", "us-east-1", "us-east-1", []string{"S3"}}},
		{"13.225.0.1", result{true, "CLOUDFRONT", "GLOBAL", "GLOBAL", []string{"CLOUDFRONT"}}},
		{"52.94.1.1", result{true, "AMAZON", "us-east-1", "us-east-1", []string{"AMAZON"}}},
		{"54.239.96.5", result{true, "ROUTE53_HEALTHCHECKS", "us-east-1", "us-east-1", []string{"EC2", "ROUTE53_HEALTHCHECKS", "AMAZON"}}},
		{"54.239.97.5", result{true, "EC2", "us-east-1", "us-east-1", []string{"EC2", "AMAZON"}}},
		{"15.230.0.9", result{true, "AMAZON", "us-west-2", "us-west-2-lax-1", []string{"AMAZON"}}},
		{"2600:1f18::1", result{true, "EC2", "us-east-1", "us-east-1", []string{"EC2", "AMAZON"}}},
		{"2600:1fa0:4000::9", result{true, "S3", "us-east-1", "us-east-1", []string{"S3"}}},
		{"8.8.8.8", result{}},
		{"2001:4860::8888", result{}},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			m, ok := r.Lookup(netip.MustParseAddr(tc.addr))
			got := result{ok, m.Service, m.Region, m.NetworkBorderGroup, r.MatchServices(m)}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			s3, _ := r.Service("s3")
			if m.Has(s3) != strings.Contains(strings.Join(tc.want.Services, ","), "S3") {
				t.Errorf("Has(S3) = %v", m.Has(s3))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"not json", "hello", "ip-ranges: invalid character"},
		{"empty", `{"prefixes":[]}`, "no prefixes"},
		{"bad prefix", `{"prefixes":[{"ip_prefix":"1.2.3/24","service":"S3"}]}`, "prefix 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFetch(t *testing.T) {
	good, err := os.ReadFile("testdata/ip-ranges.json")
	if err != nil {
		t.Fatal(err)
	}
	var body atomic.Value
	body.Store(good)
	var status atomic.Int32
	status.Store(200)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/ip-ranges.json" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
		w.Write(body.Load().([]byte))
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "sub", "ip-ranges.json")
	url := srv.URL + "/ip-ranges.json"

	r, err := Fetch(context.Background(), srv.Client(), url, path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 15 {
		t.Fatalf("fetched %d entries", r.Len())
	}
	if saved, _ := os.ReadFile(path); string(saved) != string(good) {
		t.Fatal("saved file differs from the served document")
	}
	// A broken document or an HTTP error leaves the saved copy alone.
	body.Store([]byte(`<html>maintenance</html>`))
	if _, err := Fetch(context.Background(), srv.Client(), url, path); err == nil {
		t.Fatal("an HTML page was accepted")
	}
	body.Store(good)
	status.Store(503)
	if _, err := Fetch(context.Background(), srv.Client(), url, path); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("HTTP 503: err = %v", err)
	}
	if saved, _ := os.ReadFile(path); string(saved) != string(good) {
		t.Fatal("a failed fetch replaced the saved file")
	}
	if n := hits.Load(); n != 3 {
		t.Fatalf("server saw %d requests, want 3", n)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

// BenchmarkLookup looks up addresses in a table shaped like the real
// document: ~8,000 IPv4 prefixes, ~2,000 IPv6 prefixes, each also listed
// under AMAZON.
func BenchmarkLookup(b *testing.B) {
	rnd := rand.New(rand.NewPCG(5, 6))
	var entries []Entry
	svcs := []string{"EC2", "S3", "CLOUDFRONT", "DYNAMODB", "ROUTE53", "API_GATEWAY"}
	for i := 0; i < 4000; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(3 + rnd.IntN(60)), byte(rnd.IntN(256)), byte(rnd.IntN(256)), 0}), 16+rnd.IntN(9)).Masked()
		region := fmt.Sprintf("r-%d", rnd.IntN(30))
		entries = append(entries, Entry{p, Amazon, region, region}, Entry{p, svcs[rnd.IntN(len(svcs))], region, region})
	}
	for i := 0; i < 1000; i++ {
		var x [16]byte
		x[0], x[1], x[2], x[3] = 0x26, 0x00, 0x1f, byte(rnd.IntN(256))
		x[4] = byte(rnd.IntN(256))
		p := netip.PrefixFrom(netip.AddrFrom16(x), 40+rnd.IntN(17)).Masked()
		entries = append(entries, Entry{p, Amazon, "r", "r"}, Entry{p, svcs[rnd.IntN(len(svcs))], "r", "r"})
	}
	r := New("", "", entries)
	addrs := make([]netip.Addr, 4096)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{byte(3 + rnd.IntN(60)), byte(rnd.IntN(256)), byte(rnd.IntN(256)), byte(rnd.IntN(256))})
	}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if m, ok := r.Lookup(addrs[i&4095]); ok && m.Service != "" {
			n++
		}
	}
	_ = n
}

// TestFetchErrorsHideCredentials checks that the user information and
// query of the URL (credentials, a presigned signature) show in no error,
// while the host and path still do.
func TestFetchErrorsHideCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/down/ip-ranges.json":
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		case "/html/ip-ranges.json":
			w.Write([]byte("<html>login</html>"))
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	withSecrets := func(base, path string) string {
		return strings.Replace(base, "http://", "http://user:PWSECRET@", 1) + path + "?X-Amz-Signature=SIGSECRET&token=SECRET"
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name   string
		url    string
		client *http.Client
		want   []string
	}{
		{"HTTP 503", withSecrets(srv.URL, "/down/ip-ranges.json"), srv.Client(), []string{"HTTP 503", "http://…@" + host + "/down/ip-ranges.json?…"}},
		{"not a document", withSecrets(srv.URL, "/html/ip-ranges.json"), srv.Client(), []string{"http://…@" + host + "/html/ip-ranges.json?…"}},
		{"connection refused", withSecrets(closedURL, "/ip-ranges.json"), nil, []string{"refused", "http://…@" + strings.TrimPrefix(closedURL, "http://") + "/ip-ranges.json?…"}},
		{"timeout", withSecrets(srv.URL, "/down/ip-ranges.json"), &http.Client{Timeout: time.Nanosecond}, []string{"http://…@" + host + "/down/ip-ranges.json?…"}},
		{"unparseable", "http://user:PWSECRET@[::1/ip-ranges.json?token=SECRET", nil, []string{"ip-ranges (URL redacted): not a valid URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ip-ranges.json")
			_, err := Fetch(context.Background(), tc.client, tc.url, path)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "SECRET") {
				t.Errorf("error shows a secret: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}
