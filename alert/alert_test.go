package alert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/output"
	"github.com/flowlens/flowlens/store/duckdb"
)

func sample(rule, src string) alert.Alert {
	ws := time.Date(2024, 3, 11, 0, 10, 0, 0, time.UTC)
	a := alert.Alert{
		Rule: rule, Title: "Vertical port scan", Severity: alert.SeverityMedium, MITRE: "T1046",
		Key:     alert.Pairs{{Name: "srcaddr", Value: src}, {Name: "dstport", Value: int64(22)}},
		Measure: "count_distinct dstport", Value: 40, Threshold: 25,
		WindowStart: ws, WindowEnd: ws.Add(10 * time.Minute), FirstSeen: ws.Add(time.Minute), LastSeen: ws.Add(2 * time.Minute),
		Flows:    44,
		Samples:  []alert.Pairs{{{Name: "srcaddr", Value: src}, {Name: "bytes", Value: int64(44)}}},
		FollowUp: "flowlens query 'SELECT * FROM flows' --where 'srcaddr = " + src + "'",
	}
	a.SetID()
	return a
}

func memStore(t *testing.T) *duckdb.Store {
	t.Helper()
	c := duckdb.DefaultConfig()
	c.MemoryLimit = 256 << 20
	st, err := duckdb.OpenMemory(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func hour(*alert.Alert) time.Duration { return time.Hour }

// recorder is a webhook receiver that fails the first fail requests.
type recorder struct {
	mu     sync.Mutex
	fail   int
	status int
	calls  int
	bodies [][]byte
	keys   []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if r.calls <= r.fail {
		http.Error(w, "upstream down", r.status)
		return
	}
	r.bodies = append(r.bodies, b)
	r.keys = append(r.keys, req.Header.Get("Idempotency-Key"))
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ok")
}

func fast(url string) alert.HTTPConfig {
	c := alert.DefaultHTTPConfig(url)
	c.Backoff, c.Timeout, c.Attempts = time.Millisecond, 2*time.Second, 3
	return c
}

func TestPairsJSON(t *testing.T) {
	p := alert.Pairs{{Name: "srcaddr", Value: "10.0.0.1"}, {Name: "dstport", Value: int64(22)}, {Name: "dst.entity", Value: nil}, {Name: "ok", Value: true}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"srcaddr":"10.0.0.1","dstport":22,"dst.entity":null,"ok":true}`; string(b) != want {
		t.Errorf("marshal: %s, want %s", b, want)
	}
	var back alert.Pairs
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(p, back); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

// TestStoreDedupe checks the suppression period: the same rule and key
// fire once per period, other keys and rules are independent.
func TestStoreDedupe(t *testing.T) {
	ctx := context.Background()
	st := memStore(t)
	base := sample("portscan-vertical", "45.33.10.7")
	shift := func(a alert.Alert, d time.Duration) alert.Alert {
		a.WindowStart, a.WindowEnd = a.WindowStart.Add(d), a.WindowEnd.Add(d)
		a.SetID()
		return a
	}
	for _, tc := range []struct {
		name     string
		a        alert.Alert
		suppress time.Duration
		want     bool
	}{
		{"first", base, time.Hour, true},
		{"same window again", base, 0, false},
		{"next window within the period", shift(base, 10*time.Minute), time.Hour, false},
		{"earlier window within the period", shift(base, -50*time.Minute), time.Hour, false},
		{"after the period", shift(base, time.Hour), time.Hour, true},
		{"other key", sample("portscan-vertical", "45.33.10.8"), time.Hour, true},
		{"other rule", sample("portscan-horizontal", "45.33.10.7"), time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			ok, err := st.SaveAlert(ctx, &a, tc.suppress)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want {
				t.Errorf("stored %v, want %v", ok, tc.want)
			}
		})
	}
	all, err := st.ListAlerts(ctx, alert.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Errorf("%d stored alerts, want 4", len(all))
	}
	if d := cmp.Diff(base.Samples, all[0].Samples); d != "" {
		t.Errorf("stored samples (-want +got):\n%s", d)
	}
}

func TestWebhookAndSlack(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		sink  func(url string) (alert.Sink, error)
		check func(t *testing.T, body []byte, a *alert.Alert)
	}{
		{"webhook", func(u string) (alert.Sink, error) { return alert.NewWebhook(fast(u)) }, func(t *testing.T, body []byte, a *alert.Alert) {
			var got alert.Alert
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(*a, got); d != "" {
				t.Errorf("posted alert (-want +got):\n%s", d)
			}
		}},
		{"slack", func(u string) (alert.Sink, error) { return alert.NewSlack(fast(u)) }, func(t *testing.T, body []byte, a *alert.Alert) {
			var msg struct {
				Text   string `json:"text"`
				Blocks []struct {
					Type string `json:"type"`
				} `json:"blocks"`
			}
			if err := json.Unmarshal(body, &msg); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(msg.Text, "Vertical port scan") || !strings.Contains(msg.Text, "srcaddr="+alert.ValueString(a.Key[0].Value)) || !strings.Contains(msg.Text, "&gt;=") {
				t.Errorf("text %q lacks the title, key or escaped >=", msg.Text)
			}
			var types []string
			for _, b := range msg.Blocks {
				types = append(types, b.Type)
			}
			if d := cmp.Diff([]string{"header", "section", "section", "section", "context"}, types); d != "" {
				t.Errorf("blocks (-want +got):\n%s", d)
			}
		}},
	} {
		t.Run(tc.name+" retries then delivers", func(t *testing.T) {
			rec := &recorder{fail: 2, status: http.StatusServiceUnavailable}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			s, err := tc.sink(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			st := memStore(t)
			a := sample("portscan-vertical", "45.33.10.7")
			res, err := alert.Dispatch(ctx, st, []alert.Alert{a}, hour, nil, []alert.Sink{s})
			if err != nil || res.DeliveryErr != nil {
				t.Fatalf("dispatch: %v, delivery %v", err, res.DeliveryErr)
			}
			if rec.calls != 3 || len(rec.bodies) != 1 || rec.keys[0] != a.ID {
				t.Fatalf("%d calls, %d delivered, keys %v; want 3 calls, 1 delivered with key %s", rec.calls, len(rec.bodies), rec.keys, a.ID)
			}
			tc.check(t, rec.bodies[0], &res.New[0])
			if un, _ := st.ListAlerts(ctx, alert.Query{Undelivered: true}); len(un) != 0 {
				t.Errorf("%d alerts marked undelivered", len(un))
			}
		})
		t.Run(tc.name+" failing server", func(t *testing.T) {
			rec := &recorder{fail: 1 << 30, status: http.StatusInternalServerError}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			s, err := tc.sink(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			st := memStore(t)
			a := sample("portscan-vertical", "45.33.10.7")
			res, err := alert.Dispatch(ctx, st, []alert.Alert{a}, hour, nil, []alert.Sink{s})
			if err != nil {
				t.Fatal(err)
			}
			var de *alert.DeliveryError
			if !errorsAs(res.DeliveryErr, &de) {
				t.Fatalf("delivery error %v, want *DeliveryError", res.DeliveryErr)
			}
			msg := res.DeliveryErr.Error()
			for _, want := range []string{srv.URL, "1 alert(s) not delivered after 3 attempt(s)", "HTTP 500: upstream down", a.ID} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if rec.calls != 3 {
				t.Errorf("%d calls, want 3", rec.calls)
			}
			stored, err := st.ListPending(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != 1 || stored[0].Alert.ID != a.ID {
				t.Fatalf("undelivered alerts in the store: %+v, want the alert", stored)
			}
			// The next run redelivers it once the receiver is back.
			rec.mu.Lock()
			rec.fail = 0
			rec.mu.Unlock()
			res, err = alert.Dispatch(ctx, st, []alert.Alert{a}, hour, stored, []alert.Sink{s})
			if err != nil || res.DeliveryErr != nil || len(res.New) != 0 || len(rec.bodies) != 1 {
				t.Fatalf("redelivery: err %v, delivery %v, %d new, %d delivered", err, res.DeliveryErr, len(res.New), len(rec.bodies))
			}
			if un, _ := st.ListAlerts(ctx, alert.Query{Undelivered: true}); len(un) != 0 {
				t.Errorf("%d alerts still undelivered", len(un))
			}
		})
	}
	t.Run("client error is not retried", func(t *testing.T) {
		rec := &recorder{fail: 1 << 30, status: http.StatusBadRequest}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		s, _ := alert.NewWebhook(fast(srv.URL))
		if err := s.Send(ctx, []alert.Alert{sample("r", "45.33.10.7")}); err == nil || rec.calls != 1 {
			t.Errorf("err %v after %d calls, want an error after 1", err, rec.calls)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}))
		defer srv.Close()
		c := fast(srv.URL)
		c.Timeout, c.Attempts = 50*time.Millisecond, 2
		s, _ := alert.NewWebhook(c)
		start := time.Now()
		err := s.Send(ctx, []alert.Alert{sample("r", "45.33.10.7")})
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") || time.Since(start) > time.Second {
			t.Errorf("err %v after %v, want a timeout quickly", err, time.Since(start))
		}
	})
}

func errorsAs(err error, target **alert.DeliveryError) bool {
	for err != nil {
		if de, ok := err.(*alert.DeliveryError); ok {
			*target = de
			return true
		}
		u, ok := err.(interface{ Unwrap() []error })
		if ok {
			for _, e := range u.Unwrap() {
				if errorsAs(e, target) {
					return true
				}
			}
			return false
		}
		w, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = w.Unwrap()
	}
	return false
}

func TestFileAndWriter(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "alerts.ndjson")
	f := &alert.File{Path: p}
	a, b := sample("r1", "45.33.10.7"), sample("r2", "45.33.10.8")
	if err := f.Send(ctx, []alert.Alert{a}); err != nil {
		t.Fatal(err)
	}
	if err := f.Send(ctx, []alert.Alert{b}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var x alert.Alert
		if err := json.Unmarshal(line, &x); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, x.ID)
	}
	if d := cmp.Diff([]string{a.ID, b.ID}, ids); d != "" {
		t.Errorf("appended alerts (-want +got):\n%s", d)
	}
	var out bytes.Buffer
	if err := (&alert.Writer{W: &out, Format: output.JSON}).Send(ctx, []alert.Alert{a}); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("stdout JSON: %v\n%s", err, out.String())
	}
	if len(rows) != 1 || rows[0]["id"] != a.ID || rows[0]["key"].(map[string]any)["srcaddr"] != "45.33.10.7" || rows[0]["samples"] == nil {
		t.Errorf("stdout JSON row %v", rows)
	}
}

// TestSinkErrorsHideURLSecrets checks that the token in a webhook or Slack
// URL (its path, query and user information) never shows in a sink's name,
// a delivery error or a configuration error, while the host still does.
func TestSinkErrorsHideURLSecrets(t *testing.T) {
	ctx := context.Background()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "invalid_token", http.StatusInternalServerError)
	}))
	defer failing.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	const secret = "T0SECRET/B0SECRET/XSECRETX"
	for _, tc := range []struct {
		name string
		url  string
		host string
		sink func(alert.HTTPConfig) (alert.Sink, error)
	}{
		{"webhook answering 500", failing.URL + "/hooks/" + secret + "?token=" + secret, failing.Listener.Addr().String(),
			func(c alert.HTTPConfig) (alert.Sink, error) { return alert.NewWebhook(c) }},
		{"slack connection refused", strings.Replace(closedURL, "http://", "http://user:PWSECRET@", 1) + "/services/" + secret, strings.TrimPrefix(closedURL, "http://"),
			func(c alert.HTTPConfig) (alert.Sink, error) { return alert.NewSlack(c) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.sink(fast(tc.url))
			if err != nil {
				t.Fatal(err)
			}
			a := sample("portscan-vertical", "198.51.100.7")
			res, err := alert.Dispatch(ctx, memStore(t), []alert.Alert{a}, hour, nil, []alert.Sink{s})
			if err != nil {
				t.Fatal(err)
			}
			if res.DeliveryErr == nil {
				t.Fatal("delivery did not fail")
			}
			for what, text := range map[string]string{"name": s.Name(), "delivery error": res.DeliveryErr.Error()} {
				if strings.Contains(text, "SECRET") {
					t.Errorf("%s shows the secret: %s", what, text)
				}
				if !strings.Contains(text, tc.host) {
					t.Errorf("%s does not name the host %s: %s", what, tc.host, text)
				}
			}
		})
	}
	for _, bad := range []string{"hooks.slack.com/services/" + secret, "ftp://example.com/" + secret, "http://user:pw@host:SECRET/x", "https:///" + secret} {
		t.Run("rejects "+bad, func(t *testing.T) {
			_, err := alert.NewSlack(fast(bad))
			if err == nil || strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %v: want one that hides the URL's secret", err)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"slack", "https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com/…"},
		{"query token", "https://example.com?token=abc", "https://example.com/…"},
		{"user info and port", "http://user:pw@127.0.0.1:8080/x", "http://127.0.0.1:8080/…"},
		{"bare host", "https://example.com", "https://example.com"},
		{"root path", "https://example.com/", "https://example.com"},
		{"no host", "hooks.slack.com/services/T/B/X", "(URL redacted)"},
		{"unparseable", "http://[::1/x", "(URL redacted)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, alert.RedactURL(tc.in)); d != "" {
				t.Errorf("RedactURL(%q) (-want +got):\n%s", tc.in, d)
			}
		})
	}
}

// TestURLErrorsNameTheSink checks that a bad URL is called a Slack URL
// when it was given for Slack, and a webhook URL otherwise.
func TestURLErrorsNameTheSink(t *testing.T) {
	for _, tc := range []struct {
		name, url, want string
		sink            func(alert.HTTPConfig) (alert.Sink, error)
	}{
		{"slack without scheme", "hooks.slack.com/services/T/B/X", "Slack URL (URL redacted): want http:// or https://",
			func(c alert.HTTPConfig) (alert.Sink, error) { return alert.NewSlack(c) }},
		{"slack ftp", "ftp://hooks.example.com/x", "Slack URL ftp://hooks.example.com/…: want http:// or https://",
			func(c alert.HTTPConfig) (alert.Sink, error) { return alert.NewSlack(c) }},
		{"webhook ftp", "ftp://hooks.example.com/x", "webhook URL ftp://hooks.example.com/…: want http:// or https://",
			func(c alert.HTTPConfig) (alert.Sink, error) { return alert.NewWebhook(c) }},
		{"webhook without host", "https:///x", "webhook URL (URL redacted): no host",
			func(c alert.HTTPConfig) (alert.Sink, error) { return alert.NewWebhook(c) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.sink(fast(tc.url))
			if err == nil {
				t.Fatal("no error")
			}
			if d := cmp.Diff(tc.want, err.Error()); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
		})
	}
}

// failSwitch is a receiver on a real loopback server that answers 500 on
// the paths set to fail and records what it took, by path.
type failSwitch struct {
	mu   sync.Mutex
	fail map[string]bool
	got  map[string][]string // path -> alert IDs taken (Idempotency-Key)
}

func (f *failSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[r.URL.Path] {
		http.Error(w, "upstream down", http.StatusInternalServerError)
		return
	}
	if f.got == nil {
		f.got = map[string][]string{}
	}
	f.got[r.URL.Path] = append(f.got[r.URL.Path], r.Header.Get("Idempotency-Key"))
}

func (f *failSwitch) set(path string, failing bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		f.fail = map[string]bool{}
	}
	f.fail[path] = failing
}

// taken returns the IDs each path took, sorted.
func (f *failSwitch) taken() map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]string{}
	for p, ids := range f.got {
		c := append([]string(nil), ids...)
		slices.Sort(c)
		out[p] = c
	}
	return out
}

// TestRedeliverOnlyToFailedSinks runs three deliveries against real
// loopback HTTP servers and a file: a sink that failed gets the alerts
// again, the ones that took them do not, each failing sink's error is
// kept, and a failed sink that is no longer configured keeps its alerts
// pending and is reported.
func TestRedeliverOnlyToFailedSinks(t *testing.T) {
	ctx := context.Background()
	recv := &failSwitch{}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	newWebhook := func(path string) alert.Sink {
		s, err := alert.NewWebhook(fast(srv.URL + path))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	newSlack := func(path string) alert.Sink {
		s, err := alert.NewSlack(fast(srv.URL + path))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	okHook, downHook := newWebhook("/ok"), newWebhook("/down")
	// Two Slack webhooks on the same host share a redacted name.
	okSlack, downSlack := newSlack("/services/T/B/OK"), newSlack("/services/T/B/DOWN")
	if okSlack.Name() != downSlack.Name() || alert.SinkID(okSlack) == alert.SinkID(downSlack) {
		t.Fatalf("slack names %q %q, IDs %q %q: want equal names, different IDs", okSlack.Name(), downSlack.Name(), alert.SinkID(okSlack), alert.SinkID(downSlack))
	}
	file := &alert.File{Path: filepath.Join(t.TempDir(), "alerts.ndjson")}
	sinks := []alert.Sink{file, okHook, downHook, okSlack, downSlack}
	// srvName is the Name part of a sink ID.
	srvName := func(id string) string {
		for _, s := range sinks {
			if alert.SinkID(s) == id {
				return s.Name()
			}
		}
		t.Fatalf("no sink with ID %q", id)
		return ""
	}
	recv.set("/down", true)
	recv.set("/services/T/B/DOWN", true)

	st := memStore(t)
	a, b := sample("portscan-vertical", "45.33.10.7"), sample("portscan-vertical", "45.33.10.8")
	ids := []string{a.ID, b.ID}
	slices.Sort(ids)
	fileLines := func() int {
		data, err := os.ReadFile(file.Path)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Count(data, []byte("\n"))
	}
	pending := func() map[string][]string {
		ps, err := st.ListPending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, p := range ps {
			for _, f := range p.Failed {
				if !strings.Contains(f.Error, "HTTP 500: upstream down") || !strings.HasPrefix(f.Error, srvName(f.Sink)) {
					t.Errorf("alert %s, sink %s: error %q does not say which sink failed and how", p.Alert.ID, f.Sink, f.Error)
				}
				if strings.Contains(f.Sink+f.Error, "/B/") {
					t.Errorf("alert %s: the store holds a Slack URL's secret path: %+v", p.Alert.ID, f)
				}
				out[f.Sink] = append(out[f.Sink], p.Alert.ID)
			}
		}
		for _, v := range out {
			slices.Sort(v)
		}
		return out
	}
	listPending := func() []alert.Pending {
		ps, err := st.ListPending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	downHookID, downSlackID := alert.SinkID(downHook), alert.SinkID(downSlack)

	// Run 1: two sinks fail, three take the alerts.
	res, err := alert.Dispatch(ctx, st, []alert.Alert{a, b}, hour, nil, sinks)
	if err != nil {
		t.Fatal(err)
	}
	if res.DeliveryErr == nil {
		t.Fatal("no delivery error with two sinks down")
	}
	if d := cmp.Diff(map[string][]string{downHookID: ids, downSlackID: ids}, pending()); d != "" {
		t.Errorf("run 1: pending by sink (-want +got):\n%s", d)
	}
	want := map[string][]string{"/ok": ids, "/services/T/B/OK": ids}
	if d := cmp.Diff(want, recv.taken()); d != "" {
		t.Errorf("run 1: delivered (-want +got):\n%s", d)
	}

	// Run 2: the webhook is still down, the Slack one is back. Only they
	// are sent to; the sinks that took the alerts get nothing again.
	recv.set("/services/T/B/DOWN", false)
	res, err = alert.Dispatch(ctx, st, nil, hour, listPending(), sinks)
	if err != nil {
		t.Fatal(err)
	}
	if res.Redelivered != 2 || res.DeliveryErr == nil || !strings.Contains(res.DeliveryErr.Error(), "webhook") || strings.Contains(res.DeliveryErr.Error(), "slack") {
		t.Errorf("run 2: %d redelivered, error %v; want 2 and the webhook's error only", res.Redelivered, res.DeliveryErr)
	}
	want["/services/T/B/DOWN"] = ids
	if d := cmp.Diff(want, recv.taken()); d != "" {
		t.Errorf("run 2: delivered (-want +got):\n%s", d)
	}
	if n := fileLines(); n != 2 {
		t.Errorf("run 2: alerts file has %d lines, want 2", n)
	}
	if d := cmp.Diff(map[string][]string{downHookID: ids}, pending()); d != "" {
		t.Errorf("run 2: pending by sink (-want +got):\n%s", d)
	}

	// Run 3: the failed webhook is no longer configured. Nothing is sent,
	// the alerts stay pending for it, and the result says so.
	recv.set("/down", false)
	others := []alert.Sink{file, okHook, okSlack, downSlack}
	res, err = alert.Dispatch(ctx, st, nil, hour, listPending(), others)
	if err != nil || res.DeliveryErr != nil {
		t.Fatalf("run 3: %v, delivery %v", err, res.DeliveryErr)
	}
	if d := cmp.Diff(map[string]int{downHookID: 2}, res.Unconfigured); d != "" {
		t.Errorf("run 3: unconfigured (-want +got):\n%s", d)
	}
	if res.Redelivered != 0 {
		t.Errorf("run 3: %d redelivered, want 0", res.Redelivered)
	}
	if d := cmp.Diff(want, recv.taken()); d != "" {
		t.Errorf("run 3: delivered (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string][]string{downHookID: ids}, pending()); d != "" {
		t.Errorf("run 3: pending by sink (-want +got):\n%s", d)
	}

	// Run 4: it is configured again and up: it gets the alerts, once.
	res, err = alert.Dispatch(ctx, st, nil, hour, listPending(), sinks)
	if err != nil || res.DeliveryErr != nil || res.Redelivered != 2 || res.Unconfigured != nil {
		t.Fatalf("run 4: %v, delivery %v, %d redelivered, unconfigured %v", err, res.DeliveryErr, res.Redelivered, res.Unconfigured)
	}
	want["/down"] = ids
	if d := cmp.Diff(want, recv.taken()); d != "" {
		t.Errorf("run 4: delivered (-want +got):\n%s", d)
	}
	if n := fileLines(); n != 2 {
		t.Errorf("run 4: alerts file has %d lines, want 2", n)
	}
	if p := listPending(); len(p) != 0 {
		t.Errorf("run 4: %d alerts still pending", len(p))
	}
}
