package s3_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/flowlog/awsparquet"
	"github.com/flowlens/flowlens/output"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/source"
	s3src "github.com/flowlens/flowlens/source/s3"
	"github.com/flowlens/flowlens/source/s3/s3test"
)

// layout renders the key of one flow-log file.
type layout func(org, account, region string, end time.Time) string

func fileName(account, region string, end time.Time) string {
	return fmt.Sprintf("%s_vpcflowlogs_%s_fl-0123456789abcdef0_%s_%08x.log.gz", account, region, end.Format("20060102T1504Z"), end.Unix()%99991)
}

var layouts = map[string]layout{
	"plain": func(org, a, r string, t time.Time) string {
		return "AWSLogs/" + org + a + "/vpcflowlogs/" + r + "/" + t.Format("2006/01/02/") + fileName(a, r, t)
	},
	"hourly": func(org, a, r string, t time.Time) string {
		return "AWSLogs/" + org + a + "/vpcflowlogs/" + r + "/" + t.Format("2006/01/02/15/") + fileName(a, r, t)
	},
	"hive": func(org, a, r string, t time.Time) string {
		return "AWSLogs/" + org + "aws-account-id=" + a + "/aws-service=vpcflowlogs/aws-region=" + r + "/" +
			t.Format("year=2006/month=01/day=02/") + fileName(a, r, t)
	},
	"hive-hourly": func(org, a, r string, t time.Time) string {
		return "AWSLogs/" + org + "aws-account-id=" + a + "/aws-service=vpcflowlogs/aws-region=" + r + "/" +
			t.Format("year=2006/month=01/day=02/hour=15/") + fileName(a, r, t)
	},
}

// obj is a planted object with what the test knows about it.
type obj struct {
	key     string
	account string
	region  string
	end     time.Time
}

var (
	accounts = []string{"111111111111", "222222222222"}
	regions  = []string{"us-east-1", "eu-west-1"}
	base     = time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
)

// plant writes one small object per account, region and 6 hours over 3
// days, plus a CloudTrail object that must never be listed.
func plant(t *testing.T, srv *s3test.Server, bucket, prefix, org string, lay layout) []obj {
	c := srv.Client(t)
	var objs []obj
	for _, a := range accounts {
		for _, r := range regions {
			for h := 0; h < 72; h += 6 {
				end := base.Add(time.Duration(h)*time.Hour + 5*time.Minute)
				o := obj{key: prefix + lay(org, a, r, end), account: a, region: r, end: end}
				s3test.Put(t, c, bucket, o.key, s3test.Gzip(s3test.FlowLog(a, end, 3, h)))
				objs = append(objs, o)
			}
		}
	}
	s3test.Put(t, c, bucket, prefix+"AWSLogs/"+org+accounts[0]+"/CloudTrail/us-east-1/2024/03/10/trail.json.gz", s3test.Gzip([]byte("{}")))
	return objs
}

func TestExpandLayouts(t *testing.T) {
	for _, backend := range s3test.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			srv := s3test.Start(t, backend)
			srv.Env(t)
			client := srv.Client(t)
			for _, name := range []string{"plain", "hourly", "hive", "hive-hourly"} {
				for _, org := range []string{"", "o-abcdef1234/"} {
					for _, prefix := range []string{"", "flows/"} {
						bucket := srv.Bucket(t, client)
						objs := plant(t, srv, bucket, prefix, org, layouts[name])
						t.Run(fmt.Sprintf("%s/org=%v/prefix=%q", name, org != "", prefix), func(t *testing.T) {
							testFilters(t, srv, bucket, prefix, objs)
						})
					}
				}
			}
		})
	}
}

func testFilters(t *testing.T, srv *s3test.Server, bucket, prefix string, objs []obj) {
	day2 := base.Add(24 * time.Hour)
	cases := []struct {
		name     string
		since    time.Time
		until    time.Time
		accounts []string
		regions  []string
		url      string
	}{
		{name: "all"},
		{name: "since", since: base.Add(48 * time.Hour)},
		{name: "until", until: base.Add(12 * time.Hour)},
		{name: "one day", since: day2, until: day2.Add(24 * time.Hour)},
		{name: "few hours", since: day2.Add(5 * time.Hour), until: day2.Add(7 * time.Hour)},
		{name: "account", accounts: accounts[1:]},
		{name: "region", regions: regions[:1]},
		{name: "all filters", since: day2, until: day2.Add(12 * time.Hour), accounts: accounts[:1], regions: regions[1:]},
		{name: "prefix inside layout", url: "s3://" + bucket + "/" + prefix + "AWSLogs/", accounts: accounts[:1]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := srv.Config()
			cfg.Since, cfg.Until, cfg.Accounts, cfg.Regions = tc.since, tc.until, tc.accounts, tc.regions
			src, err := s3src.New(srv.Client(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			u := tc.url
			if u == "" {
				u = "s3://" + bucket + "/" + prefix
			}
			srv.Reset()
			ins, err := src.Expand(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			var got, want []string
			for _, in := range ins {
				got = append(got, in.Name())
			}
			// The expected set, from what the test planted: a file may hold
			// records of [since, until) when its end stamp is at or after
			// since and before until plus the late-delivery slack.
			for _, o := range objs {
				if !tc.since.IsZero() && o.end.Before(tc.since) ||
					!tc.until.IsZero() && !o.end.Before(tc.until.Add(cfg.LateSlack)) ||
					tc.accounts != nil && !slices.Contains(tc.accounts, o.account) ||
					tc.regions != nil && !slices.Contains(tc.regions, o.region) {
					continue
				}
				want = append(want, "s3://"+bucket+"/"+o.key)
			}
			sort.Strings(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("objects (-want +got):\n%s", diff)
			}
			checkRequests(t, srv, tc.accounts, tc.regions, tc.since, tc.until, cfg.LateSlack)
		})
	}
}

// checkRequests asserts the listing went only where wanted objects can be:
// no list of an excluded account, region or day, of CloudTrail, and no
// flat listing above the date level while pruning.
func checkRequests(t *testing.T, srv *s3test.Server, accs, regs []string, since, until time.Time, slack time.Duration) {
	t.Helper()
	pruning := accs != nil || regs != nil || !since.IsZero() || !until.IsZero()
	var excluded []string
	for _, a := range accounts {
		if accs != nil && !slices.Contains(accs, a) {
			excluded = append(excluded, a)
		}
	}
	for _, r := range regions {
		if regs != nil && !slices.Contains(regs, r) {
			excluded = append(excluded, r)
		}
	}
	for d := base.AddDate(0, 0, -1); d.Before(base.AddDate(0, 0, 4)); d = d.AddDate(0, 0, 1) {
		if !since.IsZero() && !d.AddDate(0, 0, 1).Add(time.Hour).After(since) || !until.IsZero() && !d.Before(until.Add(slack)) {
			excluded = append(excluded, d.Format("2006/01/02/"), d.Format("year=2006/month=01/day=02/"))
		}
	}
	lists := 0
	for _, r := range srv.Requests() {
		if r.Query.Get("list-type") != "2" {
			continue
		}
		lists++
		p := r.Query.Get("prefix")
		for _, x := range excluded {
			if strings.Contains(p, x) {
				t.Errorf("listed %q, which holds only unwanted objects (%s)", p, x)
			}
		}
		if strings.Contains(p, "CloudTrail") {
			t.Errorf("listed %q", p)
		}
		if pruning && r.Query.Get("delimiter") == "" && !strings.Contains(p, "/vpcflowlogs/") && !strings.Contains(p, "aws-service=vpcflowlogs/") {
			t.Errorf("flat listing of %q above the layout while pruning", p)
		}
	}
	if lists == 0 {
		t.Error("no list request seen")
	}
}

func TestParseFileName(t *testing.T) {
	cases := []struct {
		name string
		key  string
		want s3src.FileInfo
		ok   bool
	}{
		{"aws name", "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/11/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20240311T0005Z_a1b2c3d4.log.gz",
			s3src.FileInfo{Account: "123456789012", Region: "us-east-1", End: time.Date(2024, 3, 11, 0, 5, 0, 0, time.UTC)}, true},
		{"parquet", "x/123456789012_vpcflowlogs_eu-west-1_fl-1_20231231T2355Z_ff.log.parquet",
			s3src.FileInfo{Account: "123456789012", Region: "eu-west-1", End: time.Date(2023, 12, 31, 23, 55, 0, 0, time.UTC)}, true},
		{"other name", "data/flows.log.gz", s3src.FileInfo{}, false},
		{"bad time", "123456789012_vpcflowlogs_us-east-1_fl-1_2024031_ff.log.gz", s3src.FileInfo{}, false},
		{"short account", "12345_vpcflowlogs_us-east-1_fl-1_20240311T0005Z_ff.log.gz", s3src.FileInfo{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := s3src.ParseFileName(tc.key)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*s3src.Config)
		ok   bool
	}{
		{"default", func(*s3src.Config) {}, true},
		{"bad account", func(c *s3src.Config) { c.Accounts = []string{"12"} }, false},
		{"bad region", func(c *s3src.Config) { c.Regions = []string{"useast"} }, false},
		{"until before since", func(c *s3src.Config) { c.Since, c.Until = base.Add(time.Hour), base }, false},
		{"external id alone", func(c *s3src.Config) { c.ExternalID = "x" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s3src.DefaultConfig()
			tc.mod(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// counter counts records per input.
type counter struct {
	mu  sync.Mutex
	per map[string]int
}

func (c *counter) Batch(b *flowlog.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.per[b.Source] += b.N
	return nil
}

// parquetOf renders text records as a Parquet file with the output package.
func parquetOf(t *testing.T, text []byte) []byte {
	t.Helper()
	f, ok := flowlog.ParseHeader(text[:strings.IndexByte(string(text), '\n')])
	if !ok {
		t.Fatal("no header")
	}
	p := flowlog.NewParser(f, schema.All())
	b := flowlog.NewBatch()
	var ch flowlog.Chunk
	p.ParseChunk(text, b, &ch)
	if ch.Stats.Bad > 0 || b.N == 0 {
		t.Fatalf("parse: %+v", ch.Stats)
	}
	var out strings.Builder
	w, err := output.NewRecordWriter(output.Parquet, &out, f.IDs)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return []byte(out.String())
}

func TestRead(t *testing.T) {
	for _, backend := range s3test.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			srv := s3test.Start(t, backend)
			srv.Env(t)
			client := srv.Client(t)
			end := base.Add(5 * time.Minute)
			cases := []struct {
				name      string
				failGets  int64
				corrupt   bool
				wantFail  int
				wantRange bool
			}{
				{name: "gzip and parquet", wantRange: true},
				{name: "throttled", failGets: 4},
				{name: "corrupt object skipped", corrupt: true, wantFail: 1},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					bucket := srv.Bucket(t, client)
					want := map[string]int{}
					for i := range 12 {
						key := fmt.Sprintf("AWSLogs/%s/vpcflowlogs/us-east-1/2024/03/10/%s", accounts[0], fileName(accounts[0], "us-east-1", end.Add(time.Duration(i)*5*time.Minute)))
						n := 50 + i
						s3test.Put(t, client, bucket, key, s3test.Gzip(s3test.FlowLog(accounts[0], end, n, i)))
						want["s3://"+bucket+"/"+key] = n
					}
					pq := "AWSLogs/" + accounts[1] + "/vpcflowlogs/us-east-1/2024/03/10/" + strings.Replace(fileName(accounts[1], "us-east-1", end), ".log.gz", ".log.parquet", 1)
					s3test.Put(t, client, bucket, pq, parquetOf(t, s3test.FlowLog(accounts[1], end, 77, 1)))
					want["s3://"+bucket+"/"+pq] = 77
					if tc.corrupt {
						bad := "AWSLogs/" + accounts[0] + "/vpcflowlogs/us-east-1/2024/03/10/broken.log.gz"
						gz := s3test.Gzip(s3test.FlowLog(accounts[0], end, 400, 9))
						s3test.Put(t, client, bucket, bad, append(gz[:len(gz)/2:len(gz)/2], 0, 1, 2, 3))
					}
					src, err := s3src.New(client, srv.Config())
					if err != nil {
						t.Fatal(err)
					}
					ins, err := src.Expand(context.Background(), "s3://"+bucket+"/")
					if err != nil {
						t.Fatal(err)
					}
					srv.Reset()
					srv.FailGets.Store(tc.failGets)
					srv.GetDelay = 20 * time.Millisecond
					defer func() { srv.GetDelay = 0 }()
					cfg := source.DefaultConfig()
					cfg.InputsInFlight = 8
					cfg.Parquet = awsparquet.Read
					sink := &counter{per: map[string]int{}}
					rep, err := source.Run(context.Background(), cfg, ins, sink)
					if err != nil {
						t.Fatal(err)
					}
					if rep.Failed != tc.wantFail {
						t.Fatalf("failed inputs = %d, want %d (%v)", rep.Failed, tc.wantFail, rep.Inputs)
					}
					for _, in := range rep.Inputs {
						if in.Err != nil && !strings.Contains(in.Err.Error(), "broken.log.gz") {
							t.Errorf("unexpected error: %v", in.Err)
						}
					}
					got := map[string]int{}
					for k, v := range sink.per {
						if !strings.HasSuffix(k, "broken.log.gz") {
							got[k] = v
						}
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Fatalf("records per object (-want +got):\n%s", diff)
					}
					var slow, ranged int
					for _, r := range srv.Requests() {
						if r.Status == 503 {
							slow++
						}
						if r.Range != "" && strings.HasSuffix(r.Path, ".parquet") {
							ranged++
						}
					}
					if slow != int(tc.failGets) {
						t.Errorf("503 answers = %d, want %d", slow, tc.failGets)
					}
					if tc.wantRange && ranged == 0 {
						t.Error("the Parquet object was not read with ranged GETs")
					}
					if m := srv.MaxConcurrentGets(); m < 2 {
						t.Errorf("at most %d GET at a time: object reads do not overlap", m)
					}
				})
			}
		})
	}
}

// TestEndpointFromEnv checks that AWS_ENDPOINT_URL_S3 reaches the client
// when no endpoint is configured.
func TestEndpointFromEnv(t *testing.T) {
	srv := s3test.Start(t, "gofakes3")
	srv.Env(t)
	client := srv.Client(t)
	bucket := srv.Bucket(t, client)
	s3test.Put(t, client, bucket, "a.log", s3test.FlowLog(accounts[0], base, 2, 0))
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	cfg := srv.Config()
	cfg.EndpointURL = ""
	c2, err := s3src.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	src, err := s3src.New(c2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := src.Expand(context.Background(), "s3://"+bucket+"/")
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 {
		t.Fatalf("got %d inputs, want 1", len(ins))
	}
	rc, err := ins[0].Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil || !strings.HasPrefix(string(data), "version ") {
		t.Fatalf("read %q, %v", data, err)
	}
}
