package awsapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/awsconf"
	"github.com/flowlens/flowlens/awsconf/awsconftest"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/inventory"
	"github.com/flowlens/flowlens/inventory/awsapi"
	"github.com/flowlens/flowlens/inventory/awsapi/ec2test"
)

var cmpAddrs = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

func sampleFiles() []string {
	var out []string
	for _, n := range []string{"network-interfaces", "nat-gateways", "vpcs", "subnets", "instances"} {
		out = append(out, filepath.Join("..", "testdata", "describe-"+n+".json"))
	}
	return out
}

// sampleEstate is the estate of inventory/testdata, decoded from the same
// describe-*.json files the JSON path reads.
func sampleEstate(t *testing.T) ec2test.Estate {
	t.Helper()
	var docs [][]byte
	for _, f := range sampleFiles() {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	e, err := ec2test.EstateFromJSON(docs...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func pages(srv *ec2test.Server, action string) (n int, sizes []string) {
	for _, r := range srv.Requests() {
		if r.Action == action && !r.Throttled {
			n++
			sizes = append(sizes, r.Params.Get("MaxResults"))
		}
	}
	return n, sizes
}

// TestSyncEqualsJSON reads the sample estate through the SDK and the fake
// and compares with the inventory built from the describe-*.json files.
func TestSyncEqualsJSON(t *testing.T) {
	want, err := inventory.LoadFiles(sampleFiles()...)
	if err != nil {
		t.Fatal(err)
	}
	srv := ec2test.Start(t)
	srv.Seed("us-east-1", sampleEstate(t))
	got, counts, err := awsapi.Sync(context.Background(), []awsapi.Region{{Name: "us-east-1", Client: srv.Client("us-east-1", 3)}}, awsapi.Options{PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got, cmpAddrs); d != "" {
		t.Errorf("inventory (-json +api):\n%s", d)
	}
	// Every address resolves to the same entity.
	wi, gi := want.NewIndex(), got.NewIndex()
	n := 0
	for _, e := range want.ENIs {
		for _, a := range append(append(append([]netip.Addr(nil), e.PrivateIPs...), e.PublicIPs...), e.IPv6...) {
			we, wok := wi.Lookup(a)
			ge, gok := gi.Lookup(a)
			if d := cmp.Diff(we, ge); d != "" || wok != gok {
				t.Errorf("%s (-json +api):\n%s", a, d)
			}
			n++
		}
	}
	if n < 20 {
		t.Fatalf("only %d addresses compared", n)
	}
	wantCounts := []awsapi.Counts{{Region: "us-east-1", ENIs: len(want.ENIs), NATGateways: len(want.NATGateways), VPCs: len(want.VPCs),
		Subnets: len(want.Subnets), Instances: len(want.Instances), Pages: len(srv.Requests())}}
	if d := cmp.Diff(wantCounts, counts); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	// 21 interfaces in pages of 5; the managed ones were asked for.
	if n, sizes := pages(srv, "DescribeNetworkInterfaces"); n != 5 || sizes[0] != "5" {
		t.Errorf("DescribeNetworkInterfaces: %d pages, MaxResults %v", n, sizes)
	}
	for _, r := range srv.Requests() {
		want := map[string]string{"DescribeNetworkInterfaces": "true", "DescribeInstances": "true"}[r.Action]
		if got := r.Params.Get("IncludeManagedResources"); got != want {
			t.Errorf("%s: IncludeManagedResources=%q", r.Action, got)
		}
	}
}

// bigEstate has n interfaces and n instances, two per reservation.
func bigEstate(n int) ec2test.Estate {
	var e ec2test.Estate
	for i := range n {
		e.NetworkInterfaces = append(e.NetworkInterfaces, ec2test.NetworkInterface{
			NetworkInterfaceId: fmt.Sprintf("eni-%017x", i), InterfaceType: "interface", VpcId: "vpc-1",
			PrivateIpAddress: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), Managed: i%7 == 3,
		})
		in := ec2test.Instance{InstanceId: fmt.Sprintf("i-%017x", i), PrivateIpAddress: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1),
			Tags: []ec2test.Tag{{Key: "Name", Value: fmt.Sprintf("host-%d", i)}}}
		if i%2 == 0 {
			e.Reservations = append(e.Reservations, ec2test.Reservation{ReservationId: fmt.Sprintf("r-%017x", i)})
		}
		r := &e.Reservations[len(e.Reservations)-1]
		r.Instances = append(r.Instances, in)
	}
	return e
}

func TestSyncPagination(t *testing.T) {
	const n = 23
	tests := []struct {
		name      string
		pageSize  int32
		pageLimit int // the server's own cap
		wantPages int // per list of 23
	}{
		{"pages of 5", 5, 0, 5},
		{"pages of 7", 7, 0, 4},
		{"one page", 1000, 0, 1},
		{"server cap of 6", 0, 6, 4},
		{"exact multiple", 23, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := ec2test.Start(t)
			srv.PageLimit = tc.pageLimit
			srv.Seed("eu-west-1", bigEstate(n))
			inv, _, err := awsapi.Sync(context.Background(), []awsapi.Region{{Name: "eu-west-1", Client: srv.Client("eu-west-1", 3)}}, awsapi.Options{PageSize: tc.pageSize})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range inv.ENIs {
				ids = append(ids, e.ID)
			}
			var wantIDs []string
			for i := range n {
				wantIDs = append(wantIDs, fmt.Sprintf("eni-%017x", i))
			}
			if d := cmp.Diff(wantIDs, ids); d != "" {
				t.Errorf("interfaces (-want +got):\n%s", d)
			}
			if len(inv.Instances) != n || inv.Instances[n-1].Name != fmt.Sprintf("host-%d", n-1) {
				t.Errorf("%d instances, last %+v", len(inv.Instances), inv.Instances[len(inv.Instances)-1])
			}
			for _, action := range []string{"DescribeNetworkInterfaces", "DescribeInstances"} {
				if got, _ := pages(srv, action); got != tc.wantPages {
					t.Errorf("%s: %d pages, want %d", action, got, tc.wantPages)
				}
			}
		})
	}
}

func TestSyncThrottling(t *testing.T) {
	tests := []struct {
		name     string
		action   string
		skip     int
		throttle int
		attempts int
		wantErr  string
	}{
		{"recovers", "DescribeVpcs", 0, 3, 5, ""},
		{"recovers mid-pagination", "DescribeNetworkInterfaces", 2, 2, 5, ""},
		{"every action", "", 0, 4, 5, ""},
		{"gives up", "DescribeSubnets", 0, 5, 3, "ec2 us-east-1 DescribeSubnets: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := ec2test.Start(t)
			srv.Seed("us-east-1", sampleEstate(t))
			srv.ThrottleAfter(tc.action, tc.skip, tc.throttle)
			inv, _, err := awsapi.Sync(context.Background(), []awsapi.Region{{Name: "us-east-1", Client: srv.Client("us-east-1", tc.attempts)}}, awsapi.Options{PageSize: 5})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "RequestLimitExceeded") {
					t.Fatalf("err = %v, want %q and RequestLimitExceeded", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			throttled := 0
			for _, r := range srv.Requests() {
				if r.Throttled {
					throttled++
				}
			}
			if throttled != tc.throttle {
				t.Errorf("%d requests throttled, want %d", throttled, tc.throttle)
			}
			// Each retried page was asked for again with the same token.
			if tc.skip > 0 {
				reqs := srv.Requests()
				for i, r := range reqs[:len(reqs)-1] {
					if r.Throttled && reqs[i+1].Params.Get("NextToken") != r.Params.Get("NextToken") {
						t.Errorf("retry of request %d changed the token", i)
					}
				}
				if reqs[tc.skip].Params.Get("NextToken") == "" {
					t.Errorf("the throttled request was the first page")
				}
			}
			if len(inv.ENIs) != 21 || len(inv.VPCs) == 0 || len(inv.Subnets) == 0 {
				t.Errorf("after throttling: %d ENIs, %d VPCs, %d subnets", len(inv.ENIs), len(inv.VPCs), len(inv.Subnets))
			}
		})
	}
}

func TestSyncRegions(t *testing.T) {
	srv := ec2test.Start(t)
	srv.Seed("us-east-1", sampleEstate(t))
	srv.Seed("eu-west-1", bigEstate(12))
	regions := []awsapi.Region{{Name: "us-east-1", Client: srv.Client("us-east-1", 3)}, {Name: "eu-west-1", Client: srv.Client("eu-west-1", 3)}}
	inv, counts, err := awsapi.Sync(context.Background(), regions, awsapi.Options{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	type short struct {
		Region                              string
		ENIs, NAT, VPCs, Subnets, Instances int
	}
	var got []short
	for _, c := range counts {
		got = append(got, short{c.Region, c.ENIs, c.NATGateways, c.VPCs, c.Subnets, c.Instances})
	}
	want := []short{{"us-east-1", 21, 2, 2, 3, 2}, {"eu-west-1", 12, 0, 0, 0, 12}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	if len(inv.ENIs) != 33 || len(inv.Instances) != 14 {
		t.Errorf("merged: %d ENIs, %d instances", len(inv.ENIs), len(inv.Instances))
	}
	// A failing region fails the sync and names itself.
	srv.Throttle("", 1000)
	_, _, err = awsapi.Sync(context.Background(), regions[1:], awsapi.Options{})
	if err == nil || !strings.Contains(err.Error(), "ec2 eu-west-1 DescribeNetworkInterfaces") {
		t.Errorf("err = %v", err)
	}
}

func TestSyncOptions(t *testing.T) {
	for _, size := range []int32{4, 1001, -1} {
		_, _, err := awsapi.Sync(context.Background(), nil, awsapi.Options{PageSize: size})
		if err == nil || !strings.Contains(err.Error(), "page size") {
			t.Errorf("page size %d: err = %v", size, err)
		}
	}
}

func TestFlowLogFormat(t *testing.T) {
	custom := "${version} ${vpc-id} ${srcaddr} ${dstaddr} ${action}"
	srv := ec2test.Start(t)
	srv.Seed("us-east-1", ec2test.Estate{FlowLogs: []ec2test.FlowLog{
		{FlowLogId: "fl-1", ResourceId: "vpc-1", LogDestinationType: "cloud-watch-logs", LogGroupName: "/vpc/prod", LogFormat: custom},
		{FlowLogId: "fl-2", ResourceId: "vpc-2", LogDestinationType: "cloud-watch-logs", LogGroupName: "/vpc/prod", LogFormat: custom},
		{FlowLogId: "fl-3", ResourceId: "vpc-3", LogDestinationType: "cloud-watch-logs", LogGroupName: "/vpc/legacy"},
		{FlowLogId: "fl-4", ResourceId: "vpc-4", LogDestinationType: "cloud-watch-logs", LogGroupName: "/vpc/mixed", LogFormat: custom},
		{FlowLogId: "fl-5", ResourceId: "vpc-5", LogDestinationType: "cloud-watch-logs", LogGroupName: "/vpc/mixed", LogFormat: "${version} ${srcaddr}"},
		{FlowLogId: "fl-6", ResourceId: "vpc-6", LogDestinationType: "s3", LogDestination: "arn:aws:s3:::bucket", LogFormat: "${srcaddr}"},
	}})
	c := srv.Client("us-east-1", 3)
	tests := []struct {
		group, want, wantErr string
		noFlowLog            bool
	}{
		{group: "/vpc/prod", want: custom},
		{group: "/vpc/legacy", want: flowlog.V2.String()},
		{group: "/vpc/none", wantErr: "log group /vpc/none: no flow log delivers", noFlowLog: true},
		// A name is matched literally, not as an EC2 filter wildcard.
		{group: "/vpc/*", wantErr: "no flow log delivers", noFlowLog: true},
		{group: "/vpc/mixed", wantErr: `fl-4: "${version} ${vpc-id} ${srcaddr} ${dstaddr} ${action}"; fl-5: "${version} ${srcaddr}"`},
	}
	for _, tc := range tests {
		t.Run(tc.group, func(t *testing.T) {
			got, err := awsapi.FlowLogFormat(context.Background(), c, tc.group)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if errors.Is(err, awsapi.ErrNoFlowLog) != tc.noFlowLog {
					t.Errorf("errors.Is(ErrNoFlowLog) = %v", !tc.noFlowLog)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	last := srv.Requests()[len(srv.Requests())-1]
	if last.Params.Get("Filter.1.Name") != "log-group-name" || last.Params.Get("Filter.1.Value.1") != "/vpc/mixed" {
		t.Errorf("request params %v", last.Params)
	}
}

func TestNewClients(t *testing.T) {
	awsconftest.Isolate(t, "ap-southeast-2")
	srv := ec2test.Start(t)
	srv.Seed("ap-southeast-2", bigEstate(3))
	srv.Seed("us-west-2", bigEstate(5))

	tests := []struct {
		name     string
		cfg      awsapi.Config
		env      string // AWS_ENDPOINT_URL_EC2
		wantENIs map[string]int
	}{
		{"default region, --endpoint-url", awsapi.Config{EndpointURL: srv.URL}, "", map[string]int{"ap-southeast-2": 3}},
		{"two regions, AWS_ENDPOINT_URL_EC2", awsapi.Config{Regions: []string{"us-west-2", "ap-southeast-2"}}, srv.URL, map[string]int{"us-west-2": 5, "ap-southeast-2": 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL_EC2", tc.env)
			cfg := awsapi.DefaultConfig()
			cfg.Regions, cfg.EndpointURL = tc.cfg.Regions, tc.cfg.EndpointURL
			regions, err := awsapi.NewClients(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, counts, err := awsapi.Sync(context.Background(), regions, awsapi.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, c := range counts {
				got[c.Region] = c.ENIs
			}
			if d := cmp.Diff(tc.wantENIs, got); d != "" {
				t.Errorf("ENIs per region (-want +got):\n%s", d)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     awsapi.Config
		wantErr string
	}{
		{"ok", awsapi.Config{Regions: []string{"us-east-1", "us-gov-west-1", "eu-central-2"}}, ""},
		{"bad region", awsapi.Config{Regions: []string{"useast1"}}, `"useast1" is not a region name`},
		{"duplicate region", awsapi.Config{Regions: []string{"us-east-1", "us-east-1"}}, "given twice"},
		{"external id alone", awsapi.Config{ExternalID: "x"}, "external id needs a role ARN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

type recordBody struct {
	writerTo []bool
}

func (r *recordBody) Do(req *http.Request) (*http.Response, error) {
	_, ok := req.Body.(io.WriterTo)
	r.writerTo = append(r.writerTo, ok)
	return http.DefaultClient.Do(req)
}

// TestBodyGuard checks that the SDK's request body, whose WriteTo turns
// into io.EOF once the SDK has closed it, reaches net/http without it.
func TestBodyGuard(t *testing.T) {
	srv := ec2test.Start(t)
	for _, tc := range []struct {
		name  string
		guard bool
	}{{"bare SDK client", false}, {"guarded", true}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordBody{}
			var hc aws.HTTPClient = rec
			if tc.guard {
				hc = awsconf.BodyGuard(rec)
			}
			c := ec2.NewFromConfig(aws.Config{Region: "us-east-1", HTTPClient: hc,
				Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")},
				func(o *ec2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
			if _, err := c.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{}); err != nil {
				t.Fatal(err)
			}
			if want := []bool{!tc.guard}; !cmp.Equal(want, rec.writerTo) {
				t.Errorf("body has WriteTo: %v, want %v", rec.writerTo, want)
			}
		})
	}
}
