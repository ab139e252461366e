package cwl_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/awsconf/awsconftest"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/source"
	"github.com/flowlens/flowlens/source/cwl"
	"github.com/flowlens/flowlens/source/cwl/cwltest"
)

// base is the timestamp (ms) the test events start at.
const base = int64(1_700_000_000_000)

// env isolates the SDK from the machine's AWS configuration.
func env(t testing.TB) {
	awsconftest.Isolate(t, "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "")
}

// open returns a Source for u on the fake, with a fast retryer.
func open(t testing.TB, srv *cwltest.Server, u string, mod func(*cwl.Config)) *cwl.Source {
	t.Helper()
	env(t)
	cfg := cwl.DefaultConfig()
	cfg.EndpointURL = srv.URL
	cfg.MaxBackoff = 2 * time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	client, err := cwl.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cwl.New(client, cfg, u)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// record is a v2 flow-log line whose srcport tells events apart.
func record(n int, ts int64) string {
	return fmt.Sprintf("2 123456789012 eni-0a1b2c3d 10.0.0.%d 198.51.100.7 %d 443 6 3 180 %d %d ACCEPT OK",
		n%250+1, 1024+n, ts/1000, ts/1000+60)
}

// addEvents adds n events to a stream, one second apart from start.
func addEvents(srv *cwltest.Server, group, stream string, first, n int, start int64) []string {
	evs := make([]cwltest.Event, n)
	for i := range evs {
		ts := start + int64(i)*1000
		evs[i] = cwltest.Event{Timestamp: ts, Message: record(first+i, ts)}
	}
	return srv.Add(group, stream, evs...)
}

// readAll reads an input's text.
func readAll(t testing.TB, in source.Input) string {
	t.Helper()
	rc, err := in.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want []cwl.Target
		err  string
	}{
		{"group", "cwl://flows", []cwl.Target{{Group: "flows"}}, ""},
		{"group and prefix", "cwl://flows/eni-0a", []cwl.Target{{Group: "flows/eni-0a"}, {Group: "flows", Prefix: "eni-0a"}}, ""},
		{"slashed group", "cwl:///aws/vpc/flows", []cwl.Target{{Group: "/aws/vpc/flows"}, {Group: "/aws/vpc", Prefix: "flows"}, {Group: "/aws", Prefix: "vpc/flows"}}, ""},
		{"colon separates", "cwl:///aws/vpc/flows:eni-", []cwl.Target{{Group: "/aws/vpc/flows", Prefix: "eni-"}}, ""},
		{"trailing slash", "cwl://flows/", []cwl.Target{{Group: "flows"}}, ""},
		{"empty", "cwl://", nil, "want cwl://log-group"},
		{"bad group character", "cwl://fl ows", nil, "is not allowed"},
		{"star in prefix", "cwl://flows:eni*", nil, "no ':' or '*'"},
		{"other scheme", "s3://flows", nil, "want cwl://"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cwl.ParseURL(tc.url)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("targets (-want +got):\n%s", d)
			}
		})
	}
}

// TestResolve checks that an ambiguous URL lands on the group that exists.
func TestResolve(t *testing.T) {
	srv := cwltest.Start(t)
	srv.CreateGroup("/aws/vpc/flows")
	srv.CreateGroup("plain")
	tests := []struct {
		name string
		url  string
		want cwl.Target
		err  error
	}{
		{"slashed group", "cwl:///aws/vpc/flows", cwl.Target{Group: "/aws/vpc/flows"}, nil},
		{"slashed group with prefix", "cwl:///aws/vpc/flows/eni-0a", cwl.Target{Group: "/aws/vpc/flows", Prefix: "eni-0a"}, nil},
		{"plain group with prefix", "cwl://plain/eni-", cwl.Target{Group: "plain", Prefix: "eni-"}, nil},
		{"none exists", "cwl://nope/eni-", cwl.Target{}, cwl.ErrGroupNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env(t)
			cfg := cwl.DefaultConfig()
			cfg.EndpointURL = srv.URL
			client, err := cwl.NewClient(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			s, err := cwl.New(client, cfg, tc.url)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Resolve(context.Background())
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && s.Target() != tc.want {
				t.Errorf("target = %+v, want %+v", s.Target(), tc.want)
			}
		})
	}
}

// TestInputPagination reads a group through pages of 7 events, each page
// preceded by empty pages with a token, and two streams interleaved.
func TestInputPagination(t *testing.T) {
	tests := []struct {
		name     string
		pageSize int
		empties  int
		prefix   string
		want     int // events
	}{
		{"one page", 10000, 0, "", 40},
		{"pages of 7", 7, 0, "", 40},
		{"pages of 7 after two empty pages each", 7, 2, "", 40},
		{"prefix narrows the streams", 7, 1, "eni-a", 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := cwltest.Start(t)
			// Interleaved: stream a at whole seconds, stream b half a second later.
			addEvents(srv, "flows", "eni-a-all", 0, 25, base)
			addEvents(srv, "flows", "eni-b-all", 100, 15, base+500)
			srv.SetPageSize(tc.pageSize)
			srv.SetEmptyPages(tc.empties)
			u := "cwl://flows"
			if tc.prefix != "" {
				u += "/" + tc.prefix
			}
			s := open(t, srv, u, nil)
			in := s.Input()
			text := readAll(t, in)
			lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
			// The expected order: by timestamp across the two streams.
			type ev struct {
				ts  int64
				msg string
			}
			var want []ev
			for i := range 25 {
				want = append(want, ev{base + int64(i)*1000, record(i, base+int64(i)*1000)})
			}
			if tc.prefix == "" {
				for i := range 15 {
					ts := base + 500 + int64(i)*1000
					want = append(want, ev{ts, record(100+i, ts)})
				}
			}
			slices.SortFunc(want, func(a, b ev) int { return int(a.ts - b.ts) })
			var wantLines []string
			for _, e := range want {
				wantLines = append(wantLines, e.msg)
			}
			if d := cmp.Diff(wantLines, lines); d != "" {
				t.Errorf("lines (-want +got):\n%s", d)
			}
			pages := (tc.want + tc.pageSize - 1) / tc.pageSize
			wantStats := cwl.ScanStats{Requests: int64(pages * (1 + tc.empties)), Pages: int64(pages),
				EmptyPages: int64(pages * tc.empties), Events: int64(tc.want)}
			if d := cmp.Diff(wantStats, in.Stats()); d != "" {
				t.Errorf("stats (-want +got):\n%s", d)
			}
			// cwl://flows/eni-a may name group "flows/eni-a": Resolve probes
			// it, then "flows"; then one request per page.
			probes := 0
			if tc.prefix != "" {
				probes = 2
			}
			if got := srv.Calls("FilterLogEvents"); got != int(wantStats.Requests)+probes {
				t.Errorf("server answered %d FilterLogEvents, want %d", got, int(wantStats.Requests)+probes)
			}
		})
	}
}

// TestThrottling checks that ThrottlingException is retried with backoff
// until the retryer's attempts run out.
func TestThrottling(t *testing.T) {
	tests := []struct {
		name        string
		throttle    int
		maxAttempts int
		wantErr     string
	}{
		{"recovers after three throttled calls", 3, 5, ""},
		{"gives up after max attempts", 10, 3, "ThrottlingException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := cwltest.Start(t)
			addEvents(srv, "flows", "eni-a-all", 0, 20, base)
			srv.SetPageSize(8)
			s := open(t, srv, "cwl://flows", func(c *cwl.Config) { c.MaxAttempts = tc.maxAttempts })
			srv.Throttle(tc.throttle)
			rc, err := s.Input().Open(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if got := srv.Throttled(); got != tc.maxAttempts {
					t.Errorf("%d throttled calls, want %d (max attempts)", got, tc.maxAttempts)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(data), "\n"); n != 20 {
				t.Errorf("%d events read, want 20", n)
			}
			if got := srv.Throttled(); got != tc.throttle {
				t.Errorf("%d throttled calls, want %d", got, tc.throttle)
			}
		})
	}
}

// TestSinceUntil checks that the time range reaches the requests and
// bounds the events: since inclusive, until exclusive.
func TestSinceUntil(t *testing.T) {
	ms := func(sec int64) time.Time { return time.UnixMilli(base + sec*1000) }
	tests := []struct {
		name         string
		since, until time.Time
		wantFirst    int // first event index (events are one second apart)
		wantN        int
		wantStart    int64
		wantEnd      int64
	}{
		{"unbounded", time.Time{}, time.Time{}, 0, 30, 0, 0},
		{"since", ms(10), time.Time{}, 10, 20, base + 10_000, 0},
		{"until is exclusive", time.Time{}, ms(10), 0, 10, 0, base + 9_999},
		{"both", ms(5), ms(7), 5, 2, base + 5_000, base + 6_999},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := cwltest.Start(t)
			addEvents(srv, "flows", "eni-a-all", 0, 30, base)
			s := open(t, srv, "cwl://flows", func(c *cwl.Config) { c.Since, c.Until = tc.since, tc.until })
			text := readAll(t, s.Input())
			var want string
			for i := tc.wantFirst; i < tc.wantFirst+tc.wantN; i++ {
				want += record(i, base+int64(i)*1000) + "\n"
			}
			if d := cmp.Diff(want, text); d != "" {
				t.Errorf("events (-want +got):\n%s", d)
			}
			reqs := srv.Requests()
			last := reqs[len(reqs)-1]
			if last.StartTime != tc.wantStart || last.EndTime != tc.wantEnd {
				t.Errorf("request startTime %d endTime %d, want %d %d", last.StartTime, last.EndTime, tc.wantStart, tc.wantEnd)
			}
		})
	}
}

// TestUnknownGroup checks the error for a group that does not exist.
func TestUnknownGroup(t *testing.T) {
	srv := cwltest.Start(t)
	s := open(t, srv, "cwl://missing", nil)
	rc, err := s.Input().Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, cwl.ErrGroupNotFound) || !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("read: %v, want ErrGroupNotFound naming the group", err)
	}
	_, err = s.Poll(context.Background(), cwl.NewState(), func(context.Context, *cwl.Batch) error { return nil })
	if !errors.Is(err, cwl.ErrGroupNotFound) {
		t.Fatalf("poll: %v, want ErrGroupNotFound", err)
	}
}

// TestBadLinesLocated runs a batch through the pipeline: a bad record is
// counted and located by stream and event id.
func TestBadLinesLocated(t *testing.T) {
	srv := cwltest.Start(t)
	addEvents(srv, "flows", "eni-a-all", 0, 3, base)
	bad := srv.Add("flows", "eni-b-all", cwltest.Event{Timestamp: base + 1500, Message: "2 123456789012 eni-b 10.0.0.1 nonsense"})
	addEvents(srv, "flows", "eni-a-all", 3, 2, base+3000)
	s := open(t, srv, "cwl://flows", nil)
	var batches []*cwl.Batch
	if _, err := s.Poll(context.Background(), cwl.NewState(), func(_ context.Context, b *cwl.Batch) error {
		batches = append(batches, b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 {
		t.Fatalf("%d batches, want 1", len(batches))
	}
	in := batches[0].Input()
	rep, err := source.Run(context.Background(), source.DefaultConfig(), []source.Input{in}, source.SinkFunc(func(*flowlog.Batch) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Records != 5 || rep.Total.Bad != 1 || len(rep.Errors) != 1 {
		t.Fatalf("records %d bad %d errors %d, want 5 1 1", rep.Total.Records, rep.Total.Bad, len(rep.Errors))
	}
	loc, ok := in.Locate(rep.Errors[0].Line)
	if want := "cwl://flows/eni-b-all event " + bad[0]; !ok || loc != want {
		t.Errorf("located at %q, want %q", loc, want)
	}
}

// memCursors is a CursorStore in memory, as a store would keep it.
type memCursors struct {
	last map[string]map[string]int64
	seen map[string]map[string]map[string]int64
}

func newMemCursors() *memCursors {
	return &memCursors{last: map[string]map[string]int64{}, seen: map[string]map[string]map[string]int64{}}
}

func (m *memCursors) CWLCursors(_ context.Context, group string) (map[string]int64, map[string]map[string]int64, error) {
	last := maps.Clone(m.last[group])
	if last == nil {
		last = map[string]int64{}
	}
	seen := map[string]map[string]int64{}
	for s, ids := range m.seen[group] {
		seen[s] = maps.Clone(ids)
	}
	return last, seen, nil
}

func (m *memCursors) SaveCWLCursors(_ context.Context, group string, last map[string]int64,
	added map[string]map[string]int64, keepFrom map[string]int64) error {
	if m.last[group] == nil {
		m.last[group] = map[string]int64{}
		m.seen[group] = map[string]map[string]int64{}
	}
	maps.Copy(m.last[group], last)
	for s, keep := range keepFrom {
		maps.DeleteFunc(m.seen[group][s], func(_ string, ts int64) bool { return ts < keep })
	}
	for s, ids := range added {
		if m.seen[group][s] == nil {
			m.seen[group][s] = map[string]int64{}
		}
		maps.Copy(m.seen[group][s], ids)
	}
	return nil
}

var _ cwl.CursorStore = (*memCursors)(nil)

// TestPollCursor runs ingests one after the other, each loading the
// cursors the previous one saved, as separate processes would.
func TestPollCursor(t *testing.T) {
	srv := cwltest.Start(t)
	srv.SetPageSize(50)
	srv.SetEmptyPages(1)
	const lookback = 10 * time.Minute
	store := newMemCursors()
	type step struct {
		name string
		// add puts events on the server and returns the ids that the
		// poll must pick up.
		add       func() []string
		wantStart int64     // the poll's startTime
		since     time.Time // Config.Since
		wantStats cwl.PollStats
	}
	var all []string
	steps := []step{
		{"first run reads everything", func() []string {
			a := addEvents(srv, "flows", "eni-a-all", 0, 120, base)
			b := addEvents(srv, "flows", "eni-b-all", 1000, 30, base+200)
			return append(a, b...)
		}, 0, time.Time{}, cwl.PollStats{New: 150, Batches: 2}},
		{"second run: nothing new, the look-back window is skipped by id", func() []string { return nil },
			// newest cursor: eni-a's last event at base+119s; look-back 10 minutes.
			base + 119_000 - lookback.Milliseconds(), time.Time{}, cwl.PollStats{Duplicates: 150}},
		{"new events: exactly those", func() []string {
			return addEvents(srv, "flows", "eni-a-all", 200, 5, base+200_000)
		}, base + 119_000 - lookback.Milliseconds(), time.Time{}, cwl.PollStats{New: 5, Batches: 1, Duplicates: 150}},
		{"late event within the look-back: picked up", func() []string {
			// Timestamped before eni-b's cursor, ingested now.
			return srv.Add("flows", "eni-b-all", cwltest.Event{Timestamp: base + 10_000, Message: record(5000, base+10_000)})
		}, base + 204_000 - lookback.Milliseconds(), time.Time{}, cwl.PollStats{New: 1, Batches: 1, Duplicates: 155}},
		{"late event again: not twice", func() []string { return nil },
			base + 204_000 - lookback.Milliseconds(), time.Time{}, cwl.PollStats{Duplicates: 156}},
		{"new stream", func() []string {
			return addEvents(srv, "flows", "eni-c-all", 3000, 3, base+300_000)
		}, base + 204_000 - lookback.Milliseconds(), time.Time{}, cwl.PollStats{New: 3, Batches: 1, Duplicates: 156}},
		{"late event beyond the look-back: not read", func() []string {
			srv.Add("flows", "eni-c-all", cwltest.Event{Timestamp: base + 302_000 - lookback.Milliseconds() - 1, Message: record(6000, 0)})
			return nil
		}, base + 302_000 - lookback.Milliseconds(), time.Time{}, cwl.PollStats{Duplicates: 159}},
		{"since reaching behind the cursors: nothing twice", func() []string { return nil },
			base - time.Hour.Milliseconds(), time.UnixMilli(base).Add(-time.Hour), cwl.PollStats{Duplicates: 159, BeforeCursor: 1}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			want := st.add()
			all = append(all, want...)
			s := open(t, srv, "cwl://flows", func(c *cwl.Config) {
				c.Lookback = lookback
				c.BatchEvents = 100
				c.Since = st.since
			})
			state, err := cwl.LoadState(context.Background(), store, "flows")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			ps, err := s.Poll(context.Background(), state, func(ctx context.Context, b *cwl.Batch) error {
				for _, e := range b.Events {
					got = append(got, e.ID)
				}
				return b.Save(ctx, store)
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			slices.Sort(want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("events ingested (-want +got):\n%s", d)
			}
			if ps.Start != st.wantStart {
				t.Errorf("read from %d, want %d", ps.Start, st.wantStart)
			}
			ps.ScanStats = cwl.ScanStats{}
			ps.Start = 0
			if d := cmp.Diff(st.wantStats, ps); d != "" {
				t.Errorf("stats (-want +got):\n%s", d)
			}
		})
	}
	// Every event was ingested once, except the one beyond the look-back.
	if len(all) != 150+5+1+3 {
		t.Errorf("%d events ingested over the runs, want %d", len(all), 150+5+1+3)
	}
}

// TestFollow polls until the context ends: events added between polls,
// late ones included, are picked up once; an empty poll is not the end.
func TestFollow(t *testing.T) {
	srv := cwltest.Start(t)
	want := addEvents(srv, "flows", "eni-a-all", 0, 10, base)
	s := open(t, srv, "cwl://flows", func(c *cwl.Config) { c.PollInterval = time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := newMemCursors()
	var got []string
	polls := 0
	var stats []cwl.PollStats
	err := s.Follow(ctx, cwl.NewState(), func(ctx context.Context, b *cwl.Batch) error {
		for _, e := range b.Events {
			got = append(got, e.ID)
		}
		if len(got) == len(want) && polls >= 2 {
			cancel() // everything arrived: stop, as Ctrl-C would
		}
		return b.Save(ctx, store)
	}, func(ps cwl.PollStats) {
		polls++
		stats = append(stats, ps)
		if polls == 2 {
			// The second poll found nothing; add new and late events.
			want = append(want, addEvents(srv, "flows", "eni-a-all", 10, 5, base+20_000)...)
			want = append(want, srv.Add("flows", "eni-b-all", cwltest.Event{Timestamp: base + 1, Message: record(99, base+1)})...)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	slices.Sort(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	if polls < 3 || stats[1].New != 0 || stats[0].New != 10 {
		t.Errorf("polls %d, stats %+v: want 10 new, then 0, then the rest", polls, stats)
	}
	last, _, _ := store.CWLCursors(context.Background(), "flows")
	if d := cmp.Diff(map[string]int64{"eni-a-all": base + 24_000, "eni-b-all": base + 1}, last); d != "" {
		t.Errorf("cursors (-want +got):\n%s", d)
	}
}

// TestPollStatsAdd: every count is summed, Start is kept.
func TestPollStatsAdd(t *testing.T) {
	var one cwl.PollStats
	ones := func(v reflect.Value) {
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.Int64 {
				f.SetInt(1)
			}
		}
	}
	v := reflect.ValueOf(&one).Elem()
	ones(v)
	ones(v.FieldByName("ScanStats"))
	total := cwl.PollStats{Start: 7}
	total.Add(one)
	total.Add(one)
	want := cwl.PollStats{Start: 7, ScanStats: cwl.ScanStats{Requests: 2, Pages: 2, EmptyPages: 2, Events: 2},
		New: 2, Batches: 2, Duplicates: 2, BeforeCursor: 2}
	if d := cmp.Diff(want, total); d != "" {
		t.Fatalf("sum (-want +got):\n%s", d)
	}
}
