package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flowlens/awsconf/awsconftest"
	"github.com/flowlens/flowlens/cli"
	"github.com/flowlens/flowlens/inventory/awsapi/ec2test"
	"github.com/flowlens/flowlens/source/cwl/cwltest"
	"github.com/flowlens/flowlens/source/s3/s3test"
)

// cwlEnv points the SDK at the fake through AWS_ENDPOINT_URL_CLOUDWATCH_LOGS
// and away from the machine's AWS configuration.
func cwlEnv(t *testing.T, url string) {
	awsconftest.Isolate(t, "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", url)
}

// cwlRecord is a v2 record starting at sec (epoch seconds); n varies it.
func cwlRecord(n int, sec int64) string {
	return fmt.Sprintf("2 123456789012 eni-0a1b2c3d 10.0.%d.%d 198.51.100.7 %d 443 6 3 180 %d %d ACCEPT OK",
		n/250, n%250+1, 1024+n, sec, sec+60)
}

// cwlAdd adds n events one second apart from sec.
func cwlAdd(srv *cwltest.Server, stream string, first, n int, sec int64) {
	evs := make([]cwltest.Event, n)
	for i := range evs {
		s := sec + int64(i)
		evs[i] = cwltest.Event{Timestamp: s * 1000, Message: cwlRecord(first+i, s)}
	}
	srv.Add("flows", stream, evs...)
}

func queryCount(t *testing.T, args ...string) int {
	t.Helper()
	out := must(t, append([]string{"query", "SELECT count(*) FROM flows", "-o", "csv"}, args...)...)
	n, err := strconv.Atoi(strings.TrimSpace(strings.Split(out, "\n")[1]))
	if err != nil {
		t.Fatalf("count: %q", out)
	}
	return n
}

func TestCWL(t *testing.T) {
	srv := cwltest.Start(t)
	cwlEnv(t, srv.URL)
	srv.SetPageSize(40)
	srv.SetEmptyPages(1)
	const t0 = int64(1_710_115_200) // 2024-03-11T00:00:00Z
	cwlAdd(srv, "eni-a-all", 0, 100, t0)
	cwlAdd(srv, "eni-b-all", 1000, 60, t0+30)
	bad := srv.Add("flows", "eni-b-all", cwltest.Event{Timestamp: (t0 + 31) * 1000, Message: "2 123456789012 eni-b not-an-address"})
	db := filepath.Join(t.TempDir(), "f.duckdb")
	ingest := func(extra ...string) string {
		t.Helper()
		_, errs, code := flowlens(t, append([]string{"ingest", "cwl://flows", "--db", db}, extra...)...)
		if code != 0 {
			t.Fatalf("ingest: exit %d\n%s", code, errs)
		}
		return errs
	}

	steps := []struct {
		name     string
		add      func()
		wantNew  string
		wantRows int
	}{
		{"first run", func() {}, "161 new event(s), 160 records, 1 bad", 160},
		{"second run adds nothing", func() {}, "0 new event(s), 0 records", 160},
		{"new and late events: exactly those", func() {
			cwlAdd(srv, "eni-a-all", 200, 5, t0+400)
			cwlAdd(srv, "eni-b-all", 300, 1, t0+10) // late: stamped before eni-b's cursor
		}, "6 new event(s), 6 records", 166},
		{"late event not twice", func() {}, "0 new event(s)", 166},
	}
	for _, st := range steps {
		st.add()
		errs := ingest()
		if !strings.Contains(errs, st.wantNew) {
			t.Errorf("%s: stderr lacks %q:\n%s", st.name, st.wantNew, errs)
		}
		if st.name == "first run" && !strings.Contains(errs, "cwl://flows/eni-b-all event "+bad[0]) {
			t.Errorf("%s: bad record not located by stream and event id:\n%s", st.name, errs)
		}
		if got := queryCount(t, "--db", db); got != st.wantRows {
			t.Errorf("%s: %d rows, want %d", st.name, got, st.wantRows)
		}
	}

	// Read commands take cwl:// sources directly, with the time range.
	since := time.Unix(t0+50, 0).UTC().Format(time.RFC3339)
	until := time.Unix(t0+70, 0).UTC().Format(time.RFC3339)
	// Records are 60 s windows: those ending at or after since and starting before until.
	want := 0
	for s := t0; s < t0+100; s++ { // eni-a
		if s+60 >= t0+50 && s < t0+70 {
			want++
		}
	}
	for s := t0 + 30; s < t0+90; s++ { // eni-b
		if s+60 >= t0+50 && s < t0+70 {
			want++
		}
	}
	if s := t0 + 10; s+60 >= t0+50 && s < t0+70 { // the late one
		want++
	}
	if got := queryCount(t, "cwl://flows", "--since", since, "--until", until); got != want {
		t.Errorf("query cwl:// --since --until: %d rows, want %d", got, want)
	}
	if got := queryCount(t, "cwl://flows/eni-a"); got != 105 {
		t.Errorf("query cwl://flows/eni-a: %d rows, want 105", got)
	}
	out := must(t, "top", "dstport", "cwl://flows", "-o", "csv")
	if !strings.Contains(out, "443,166,") {
		t.Errorf("top dstport over cwl://: %q", out)
	}

	// ingest --since/--until on a fresh database reads the events of the
	// range, whole: the records starting in it (event time = record start).
	db2 := filepath.Join(t.TempDir(), "g.duckdb")
	if _, errs, code := flowlens(t, "ingest", "cwl://flows", "--db", db2, "--since", since, "--until", until); code != 0 {
		t.Fatalf("ingest --since: exit %d\n%s", code, errs)
	}
	wantEvents := 0
	for s := t0; s < t0+100; s++ { // eni-a
		if s >= t0+50 && s < t0+70 {
			wantEvents++
		}
	}
	for s := t0 + 30; s < t0+90; s++ { // eni-b
		if s >= t0+50 && s < t0+70 {
			wantEvents++
		}
	}
	if got := queryCount(t, "--db", db2); got != wantEvents {
		t.Errorf("ingest --since --until: %d rows, want %d", got, wantEvents)
	}

	// An unknown group is an error (exit 1) that names it.
	_, errs, code := flowlens(t, "ingest", "cwl://missing", "--db", db)
	if code != 1 || !strings.Contains(errs, "log group not found") || !strings.Contains(errs, "missing") {
		t.Errorf("unknown group: exit %d\n%s", code, errs)
	}
	_, errs, code = flowlens(t, "read", "cwl://missing")
	if code != 1 || !strings.Contains(errs, "log group not found") {
		t.Errorf("read unknown group: exit %d\n%s", code, errs)
	}
}

// TestCWLFollow runs ingest --follow, adds events while it polls, and
// stops it through its context as Ctrl-C does.
func TestCWLFollow(t *testing.T) {
	srv := cwltest.Start(t)
	cwlEnv(t, srv.URL)
	const t0 = int64(1_710_115_200)
	cwlAdd(srv, "eni-a-all", 0, 20, t0)
	db := filepath.Join(t.TempDir(), "f.duckdb")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int)
	var errb bytes.Buffer
	go func() {
		var out bytes.Buffer
		done <- cli.Main(ctx, []string{"ingest", "cwl://flows", "--db", db, "--follow", "--poll-interval", "5ms"},
			strings.NewReader(""), &out, &errb)
	}()
	// waitCalls waits until the fake answered n FilterLogEvents calls.
	waitCalls := func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for srv.Calls("FilterLogEvents") < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d polls", srv.Calls("FilterLogEvents"))
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	waitCalls(2) // the first poll committed, the second began
	c := srv.Calls("FilterLogEvents")
	cwlAdd(srv, "eni-a-all", 20, 7, t0+100)
	cwlAdd(srv, "eni-b-all", 40, 1, t0+5) // late
	// A poll that asked after the events were added, and the one after it
	// (which starts only once the former committed).
	waitCalls(c + 2)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("follow: exit %d\n%s", code, errb.String())
	}
	if got := queryCount(t, "--db", db); got != 28 {
		t.Errorf("%d rows after follow, want 28\n%s", got, errb.String())
	}
}

// TestIngestS3SinceUntil checks that ingest --until prunes the S3 listing
// by key (an object named too late is not read) and keeps the objects it
// reads whole (one named within the late-delivery slack included): the
// ledger records them as read.
func TestIngestS3SinceUntil(t *testing.T) {
	srv := s3test.Start(t, "gofakes3")
	srv.Env(t)
	client := srv.Client(t)
	bucket := srv.Bucket(t, client)
	end := time.Date(2024, 3, 11, 0, 5, 0, 0, time.UTC)
	objs := []struct {
		end time.Time
		n   int
	}{{end, 100}, {end.Add(time.Hour), 70}, {end.Add(3 * time.Hour), 30}}
	for i, o := range objs {
		s3test.Put(t, client, bucket, s3Key("111111111111", o.end), s3test.Gzip(s3test.FlowLog("111111111111", o.end, o.n, i)))
	}
	db := filepath.Join(t.TempDir(), "f.duckdb")
	_, errs, code := flowlens(t, "ingest", "s3://"+bucket+"/AWSLogs/", "--endpoint-url", srv.URL, "--s3-path-style",
		"--db", db, "--until", "2024-03-11T00:30:00Z")
	if code != 0 || !strings.Contains(errs, "ingested 2 input(s)") {
		t.Fatalf("exit %d, want 2 inputs read (the third pruned):\n%s", code, errs)
	}
	if got := queryCount(t, "--db", db); got != 170 {
		t.Errorf("%d rows, want 170 (both objects read, whole)", got)
	}
}

// TestCWLLookupFormat checks that --lookup-format parses the events with
// the format DescribeFlowLogs reports for the group.
func TestCWLLookupFormat(t *testing.T) {
	srv := cwltest.Start(t)
	cwlEnv(t, srv.URL)
	ec2 := ec2test.Start(t)
	t.Setenv("AWS_ENDPOINT_URL_EC2", ec2.URL)
	const format = "${interface-id} ${srcaddr} ${dstaddr} ${dstport} ${action} ${start} ${end}"
	ec2.Seed("us-east-1", ec2test.Estate{FlowLogs: []ec2test.FlowLog{
		{FlowLogId: "fl-1", LogGroupName: "custom", LogDestinationType: "cloud-watch-logs", LogFormat: format},
		{FlowLogId: "fl-2", LogGroupName: "other", LogDestinationType: "cloud-watch-logs"},
	}})
	const t0 = int64(1_710_115_200)
	for i := range 4 {
		s := t0 + int64(i)
		srv.Add("custom", "eni-0a-all", cwltest.Event{Timestamp: s * 1000,
			Message: fmt.Sprintf("eni-0a 10.0.0.%d 198.51.100.7 %d ACCEPT %d %d", i+1, 22+i, s, s+60)})
	}
	db := filepath.Join(t.TempDir(), "f.duckdb")
	_, errs, code := flowlens(t, "ingest", "cwl://custom", "--db", db, "--lookup-format")
	if code != 0 || !strings.Contains(errs, "4 records, 0 bad") || !strings.Contains(errs, "(DescribeFlowLogs)") {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	out := must(t, "query", "SELECT sum(dstport) AS p, count(DISTINCT srcaddr) AS s FROM flows", "--db", db, "-o", "csv")
	if want := "p,s\n94,4\n"; out != want {
		t.Errorf("query: %q, want %q", out, want)
	}
	// Without the lookup the default v2 format rejects every record.
	_, errs, code = flowlens(t, "ingest", "cwl://custom", "--db", filepath.Join(t.TempDir(), "g.duckdb"))
	if code != 0 || !strings.Contains(errs, "0 records, 4 bad") {
		t.Errorf("without --lookup-format: exit %d:\n%s", code, errs)
	}
}
