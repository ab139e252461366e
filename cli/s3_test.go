package cli_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flowlens/source/s3/s3test"
)

// s3Key is the AWS key of a flow-log file of account at end.
func s3Key(account string, end time.Time) string {
	return fmt.Sprintf("AWSLogs/%s/vpcflowlogs/us-east-1/%s/%s_vpcflowlogs_us-east-1_fl-0abc_%s_%04x.log.gz",
		account, end.Format("2006/01/02"), account, end.Format("20060102T1504Z"), end.Unix()%9973)
}

func TestIngestS3(t *testing.T) {
	for _, backend := range s3test.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			srv := s3test.Start(t, backend)
			srv.Env(t)
			client := srv.Client(t)
			bucket := srv.Bucket(t, client)
			end := time.Date(2024, 3, 11, 0, 5, 0, 0, time.UTC)
			keys := []string{s3Key("111111111111", end), s3Key("111111111111", end.Add(5*time.Minute)), s3Key("222222222222", end)}
			for i, k := range keys {
				s3test.Put(t, client, bucket, k, s3test.Gzip(s3test.FlowLog(k[8:20], end, 100*(i+1), i)))
			}
			db := filepath.Join(t.TempDir(), "f.duckdb")
			url := "s3://" + bucket + "/AWSLogs/"
			flags := []string{"--endpoint-url", srv.URL, "--s3-path-style", "--db", db}
			count := func(where string) int {
				out := must(t, "query", "SELECT count(*) FROM flows "+where, "--db", db, "-o", "csv")
				n, err := strconv.Atoi(strings.TrimSpace(strings.Split(out, "\n")[1]))
				if err != nil {
					t.Fatalf("count: %q", out)
				}
				return n
			}
			ingest := func(wantCode int, want ...string) {
				t.Helper()
				_, errs, code := flowlens(t, append([]string{"ingest", url}, flags...)...)
				if code != wantCode {
					t.Fatalf("exit %d, want %d: %s", code, wantCode, errs)
				}
				for _, w := range want {
					if !strings.Contains(errs, w) {
						t.Fatalf("stderr lacks %q:\n%s", w, errs)
					}
				}
			}
			ingest(0, "ingested 3 input(s)", "600 records")
			if got := count(""); got != 600 {
				t.Fatalf("rows %d, want 600", got)
			}
			ingest(0, "ingested 0 input(s)", "3 unchanged skipped")
			if got := count(""); got != 600 {
				t.Fatalf("re-ingest: rows %d, want 600", got)
			}
			// The second object is replaced with 50 records: its 200 rows go.
			s3test.Put(t, client, bucket, keys[1], s3test.Gzip(s3test.FlowLog("111111111111", end, 50, 7)))
			ingest(0, "ingested 1 input(s)", "1 replaced", "2 unchanged skipped")
			if got := count(""); got != 450 {
				t.Fatalf("after replacement: rows %d, want 450", got)
			}
			if got := count(fmt.Sprintf("WHERE source = 's3://%s/%s'", bucket, keys[1])); got != 50 {
				t.Fatalf("replaced object has %d rows, want 50", got)
			}
			// A corrupt object is reported; the others are ingested.
			gz := s3test.Gzip(s3test.FlowLog("222222222222", end, 500, 3))
			s3test.Put(t, client, bucket, "AWSLogs/222222222222/vpcflowlogs/us-east-1/2024/03/11/bad.log.gz", gz[:len(gz)/2])
			good := s3Key("222222222222", end.Add(10*time.Minute))
			s3test.Put(t, client, bucket, good, s3test.Gzip(s3test.FlowLog("222222222222", end, 30, 4)))
			_, errs, code := flowlens(t, append([]string{"ingest", url}, flags...)...)
			if code == 0 || !strings.Contains(errs, "bad.log.gz") {
				t.Fatalf("corrupt object not reported (exit %d): %s", code, errs)
			}
			if got := count(fmt.Sprintf("WHERE source = 's3://%s/%s'", bucket, good)); got != 30 {
				t.Fatalf("object after the corrupt one: %d rows, want 30", got)
			}

			// Reading with pruning flags: only account 222222222222's objects.
			out := must(t, "query", "SELECT count(*) AS n, count(DISTINCT account_id) AS a FROM flows", url,
				"--endpoint-url", srv.URL, "--s3-path-style", "--account", "111111111111", "-o", "csv",
				"--since", "2024-03-11T00:00:00Z", "--until", "2024-03-11T00:30:00Z")
			if want := "n,a\n150,1\n"; out != want {
				t.Fatalf("query with --account: %q, want %q", out, want)
			}
		})
	}
}
