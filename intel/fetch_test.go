package intel

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// feedServer serves one list with an ETag and a Last-Modified date, and
// records the validators each request sent.
type feedServer struct {
	mu       sync.Mutex
	body     string
	etag     string
	modified string
	status   int           // forced status when non-zero
	delay    time.Duration // before answering
	requests []string      // "If-None-Match|If-Modified-Since" per request
}

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Header.Get("If-None-Match")+"|"+r.Header.Get("If-Modified-Since"))
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if s.status != 0 {
		http.Error(w, "broken", s.status)
		return
	}
	if r.Header.Get("If-None-Match") == s.etag || (s.etag == "" && r.Header.Get("If-Modified-Since") == s.modified) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if s.etag != "" {
		w.Header().Set("ETag", s.etag)
	}
	w.Header().Set("Last-Modified", s.modified)
	w.Write([]byte(s.body))
}

func (s *feedServer) set(f func(*feedServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func TestFetch(t *testing.T) {
	v1, err := os.ReadFile("testdata/feodo.good.csv")
	if err != nil {
		t.Fatal(err)
	}
	v2 := string(v1) + `"2024-03-11 09:00:00","45.79.19.196","443","online","2024-03-11","Pikabot"` + "\n"
	srv := &feedServer{body: string(v1), etag: `"v1"`, modified: "Mon, 11 Mar 2024 10:05:13 GMT"}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	f := &Fetcher{Dir: dir, Client: &http.Client{Timeout: 2 * time.Second}}
	feed := Feed{Name: "feodo", URL: ts.URL + "/ipblocklist.csv", Format: FormatFeodo}
	ctx := context.Background()

	steps := []struct {
		name       string
		change     func(*feedServer)
		client     *http.Client
		wantStatus Status
		wantErr    string
		wantBody   string // the cached copy afterwards
		wantInds   int
		wantSent   string // validators of the request
	}{
		{name: "first fetch", wantStatus: Updated, wantBody: string(v1), wantInds: 2, wantSent: "|"},
		{name: "unchanged: 304", wantStatus: NotModified, wantBody: string(v1), wantInds: 2, wantSent: `"v1"|Mon, 11 Mar 2024 10:05:13 GMT`},
		{name: "changed", change: func(s *feedServer) { s.body, s.etag, s.modified = v2, `"v2"`, "Mon, 11 Mar 2024 11:00:00 GMT" },
			wantStatus: Updated, wantBody: v2, wantInds: 3, wantSent: `"v1"|Mon, 11 Mar 2024 10:05:13 GMT`},
		{name: "server error keeps the copy", change: func(s *feedServer) { s.status = 500 },
			wantErr: "HTTP 500", wantBody: v2, wantInds: 3, wantSent: `"v2"|Mon, 11 Mar 2024 11:00:00 GMT`},
		{name: "not a list keeps the copy", change: func(s *feedServer) {
			s.status, s.body, s.etag = 0, "<html>\n<body>maintenance</body>\n</html>\n", `"v3"`
		},
			wantErr: "not an indicator list", wantBody: v2, wantInds: 3, wantSent: `"v2"|Mon, 11 Mar 2024 11:00:00 GMT`},
		{name: "timeout keeps the copy", change: func(s *feedServer) { s.delay = 300 * time.Millisecond },
			client: &http.Client{Timeout: 50 * time.Millisecond}, wantErr: "Timeout", wantBody: v2, wantInds: 3, wantSent: `"v2"|Mon, 11 Mar 2024 11:00:00 GMT`},
		{name: "Last-Modified alone", change: func(s *feedServer) {
			s.delay, s.body, s.etag, s.modified = 0, string(v1), "", "Tue, 12 Mar 2024 08:00:00 GMT"
		},
			wantStatus: Updated, wantBody: string(v1), wantInds: 2, wantSent: `"v2"|Mon, 11 Mar 2024 11:00:00 GMT`},
		{name: "304 by date", wantStatus: NotModified, wantBody: string(v1), wantInds: 2, wantSent: `|Tue, 12 Mar 2024 08:00:00 GMT`},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change != nil {
				srv.set(st.change)
			}
			f.Client = &http.Client{Timeout: 2 * time.Second}
			if st.client != nil {
				f.Client = st.client
			}
			n := len(srv.requests)
			m, status, fetchErr := f.Fetch(ctx, feed)
			switch {
			case st.wantErr != "" && (fetchErr == nil || !strings.Contains(fetchErr.Error(), st.wantErr)):
				t.Fatalf("err %v, want %q", fetchErr, st.wantErr)
			case st.wantErr == "" && fetchErr != nil:
				t.Fatal(fetchErr)
			}
			if status != st.wantStatus {
				t.Errorf("status %q, want %q", status, st.wantStatus)
			}
			srv.mu.Lock()
			sent := srv.requests[n:]
			srv.mu.Unlock()
			if d := cmp.Diff([]string{st.wantSent}, sent); d != "" {
				t.Errorf("request validators (-want +got):\n%s", d)
			}
			body, err := os.ReadFile(DataPath(dir, "feodo"))
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != st.wantBody {
				t.Errorf("cached copy:\n%s\nwant:\n%s", body, st.wantBody)
			}
			meta, err := ReadMeta(dir, "feodo")
			if err != nil {
				t.Fatal(err)
			}
			if meta.Indicators != st.wantInds || meta.Bytes != int64(len(st.wantBody)) {
				t.Errorf("meta: %d indicators, %d bytes; want %d and %d", meta.Indicators, meta.Bytes, st.wantInds, len(st.wantBody))
			}
			if fetchErr == nil && m.Name != "feodo" {
				t.Errorf("meta name %q", m.Name)
			}
		})
	}
	// No temporary files are left behind, and only the list is a list.
	files, err := ListFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{DataPath(dir, "feodo")}, files); d != "" {
		t.Errorf("ListFiles (-want +got):\n%s", d)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("cache holds %v, want the list and its metadata", names)
	}
}

// TestFetchErrorsHideCredentials checks that the user information and the
// query of a feed URL (where API keys go) stay out of fetch errors.
func TestFetchErrorsHideCredentials(t *testing.T) {
	srv := httptest.NewServer(&feedServer{status: http.StatusNotFound})
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	dead := closed.URL
	closed.Close()
	for _, tc := range []struct{ name, url string }{
		{"HTTP 404", strings.Replace(srv.URL, "http://", "http://user:PWSECRET@", 1) + "/list.txt?apikey=KEYSECRET"},
		{"connection refused", dead + "/list.txt?apikey=KEYSECRET"},
		{"bad port", "http://user:PWSECRET@127.0.0.1:KEYSECRET/list.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &Fetcher{Dir: t.TempDir()}
			_, _, err := f.Fetch(context.Background(), Feed{Name: "paid", URL: tc.url, Format: FormatPlain})
			if err == nil {
				t.Fatal("fetch did not fail")
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error shows a credential: %v", err)
			}
			if !strings.Contains(err.Error(), "intel update paid (") {
				t.Errorf("error does not name the feed: %v", err)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"public feed", "https://feodotracker.abuse.ch/downloads/ipblocklist.csv", "https://feodotracker.abuse.ch/downloads/ipblocklist.csv"},
		{"api key in query", "https://intel.example.com/ips.txt?key=abc", "https://intel.example.com/ips.txt?…"},
		{"user info", "https://user:pw@intel.example.com/ips.txt", "https://…@intel.example.com/ips.txt"},
		{"unparseable", "http://[::1/x", "(URL redacted)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, RedactURL(tc.in)); d != "" {
				t.Errorf("RedactURL(%q) (-want +got):\n%s", tc.in, d)
			}
		})
	}
}
