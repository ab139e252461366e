package ec2test_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flowlens/flowlens/inventory/awsapi/ec2test"
)

// full has every modelled field set, so a wrong element name loses a
// value the round trip below notices.
var full = ec2test.Estate{
	NetworkInterfaces: []ec2test.NetworkInterface{{
		NetworkInterfaceId: "eni-1", SubnetId: "subnet-1", VpcId: "vpc-1", AvailabilityZone: "us-east-1a",
		Description: "d", OwnerId: "111122223333", RequesterId: "amazon-elb", RequesterManaged: true, Status: "in-use",
		MacAddress: "02:00:00:00:00:01", PrivateIpAddress: "10.0.0.1", PrivateDnsName: "ip-10-0-0-1.ec2.internal",
		SourceDestCheck: true, InterfaceType: "interface",
		Association: &ec2test.NetworkInterfaceAssoc{PublicIp: "198.51.100.1", PublicDnsName: "ec2-1", IpOwnerId: "amazon",
			AllocationId: "eipalloc-1", AssociationId: "eipassoc-1"},
		Attachment: &ec2test.NetworkInterfaceAttach{AttachmentId: "eni-attach-1", InstanceId: "i-1", InstanceOwnerId: "111122223333",
			DeviceIndex: 1, Status: "attached"},
		PrivateIpAddresses: []ec2test.NetworkInterfacePrivate{
			{PrivateIpAddress: "10.0.0.1", PrivateDnsName: "ip-10-0-0-1", Primary: true,
				Association: &ec2test.NetworkInterfaceAssoc{PublicIp: "198.51.100.1"}},
			{PrivateIpAddress: "10.0.0.2"},
		},
		Ipv6Addresses: []ec2test.Ipv6Address{{Ipv6Address: "2001:db8::1"}},
		TagSet:        []ec2test.Tag{{Key: "Name", Value: "web"}, {Key: "env", Value: "prod"}},
	}},
	NatGateways: []ec2test.NatGateway{{
		NatGatewayId: "nat-1", State: "available", ConnectivityType: "public", VpcId: "vpc-1", SubnetId: "subnet-1",
		NatGatewayAddresses: []ec2test.NatGatewayAddress{{AllocationId: "eipalloc-2", NetworkInterfaceId: "eni-2",
			PrivateIp: "10.0.0.9", PublicIp: "198.51.100.9", AssociationId: "eipassoc-2", IsPrimary: true, Status: "succeeded"}},
		Tags: []ec2test.Tag{{Key: "Name", Value: "nat-a"}},
	}},
	Vpcs: []ec2test.Vpc{{
		VpcId: "vpc-1", OwnerId: "111122223333", State: "available", CidrBlock: "10.0.0.0/16", IsDefault: true,
		CidrBlockAssociationSet:     []ec2test.CidrBlockAssociation{{AssociationId: "vpc-cidr-assoc-1", CidrBlock: "10.0.0.0/16"}},
		Ipv6CidrBlockAssociationSet: []ec2test.CidrBlockAssociation{{AssociationId: "vpc-cidr-assoc-2", Ipv6CidrBlock: "2001:db8::/56"}},
		Tags:                        []ec2test.Tag{{Key: "Name", Value: "prod"}},
	}},
	Subnets: []ec2test.Subnet{{
		SubnetId: "subnet-1", VpcId: "vpc-1", OwnerId: "111122223333", State: "available", AvailabilityZone: "us-east-1a",
		CidrBlock:                   "10.0.0.0/24",
		Ipv6CidrBlockAssociationSet: []ec2test.CidrBlockAssociation{{AssociationId: "subnet-cidr-assoc-1", Ipv6CidrBlock: "2001:db8::/64"}},
		Tags:                        []ec2test.Tag{{Key: "Name", Value: "a"}},
	}},
	Reservations: []ec2test.Reservation{{
		ReservationId: "r-1", OwnerId: "111122223333",
		Instances: []ec2test.Instance{
			{InstanceId: "i-1", InstanceType: "m5.large", State: &ec2test.InstanceState{Code: 16, Name: "running"},
				PrivateDnsName: "ip-10-0-0-1", PublicDnsName: "ec2-1", PrivateIpAddress: "10.0.0.1", PublicIpAddress: "198.51.100.1",
				SubnetId: "subnet-1", VpcId: "vpc-1",
				NetworkInterfaces: []ec2test.InstanceNetworkInterface{{NetworkInterfaceId: "eni-1", SubnetId: "subnet-1", VpcId: "vpc-1",
					PrivateIpAddress: "10.0.0.1", Association: &ec2test.NetworkInterfaceAssoc{PublicIp: "198.51.100.1", IpOwnerId: "amazon"},
					PrivateIpAddresses: []ec2test.NetworkInterfacePrivate{{PrivateIpAddress: "10.0.0.1", Primary: true}},
					Ipv6Addresses:      []ec2test.Ipv6Address{{Ipv6Address: "2001:db8::1"}}}},
				Tags: []ec2test.Tag{{Key: "Name", Value: "web-1"}}},
			{InstanceId: "i-2", State: &ec2test.InstanceState{Code: 80, Name: "stopped"}},
		},
	}},
	FlowLogs: []ec2test.FlowLog{{
		FlowLogId: "fl-1", FlowLogStatus: "ACTIVE", ResourceId: "vpc-1", TrafficType: "ALL", LogDestinationType: "cloud-watch-logs",
		LogDestination: "arn:aws:logs:us-east-1:111122223333:log-group:/vpc", LogGroupName: "/vpc", LogFormat: "${version} ${srcaddr}",
		DeliverLogsStatus: "SUCCESS", MaxAggregationInterval: 600, Tags: []ec2test.Tag{{Key: "team", Value: "net"}},
	}},
}

// readAll lists everything of a region through the SDK and encodes the
// SDK's output as the AWS CLI prints it.
func readAll(t *testing.T, c *ec2.Client) []byte {
	t.Helper()
	ctx := context.Background()
	var doc struct {
		NetworkInterfaces []types.NetworkInterface
		NatGateways       []types.NatGateway
		Vpcs              []types.Vpc
		Subnets           []types.Subnet
		Reservations      []types.Reservation
		FlowLogs          []types.FlowLog
	}
	enis, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	must(t, err)
	doc.NetworkInterfaces = enis.NetworkInterfaces
	nats, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{})
	must(t, err)
	doc.NatGateways = nats.NatGateways
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	must(t, err)
	doc.Vpcs = vpcs.Vpcs
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	must(t, err)
	doc.Subnets = subnets.Subnets
	inst, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	must(t, err)
	doc.Reservations = inst.Reservations
	fls, err := c.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{})
	must(t, err)
	doc.FlowLogs = fls.FlowLogs
	b, err := json.Marshal(doc)
	must(t, err)
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSDKRoundTrip serves estates and reads them back with the real SDK:
// every modelled field must arrive in the SDK's types under the member
// name the AWS CLI prints.
func TestSDKRoundTrip(t *testing.T) {
	var docs [][]byte
	for _, n := range []string{"network-interfaces", "nat-gateways", "vpcs", "subnets", "instances"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "describe-"+n+".json"))
		must(t, err)
		docs = append(docs, b)
	}
	sample, err := ec2test.EstateFromJSON(docs...)
	must(t, err)
	for _, tc := range []struct {
		name   string
		estate ec2test.Estate
	}{{"every field", full}, {"inventory samples", sample}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := ec2test.Start(t)
			srv.Seed("us-east-1", tc.estate)
			got, err := ec2test.EstateFromJSON(readAll(t, srv.Client("us-east-1", 1)))
			must(t, err)
			if d := cmp.Diff(tc.estate, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("(-seeded +read by the SDK):\n%s", d)
			}
		})
	}
}

func TestPaginationAndFilters(t *testing.T) {
	srv := ec2test.Start(t)
	var e ec2test.Estate
	for i := range 12 {
		e.NetworkInterfaces = append(e.NetworkInterfaces, ec2test.NetworkInterface{NetworkInterfaceId: fmt.Sprintf("eni-%02d", i),
			VpcId: fmt.Sprintf("vpc-%d", i%2), Description: fmt.Sprintf("ELB app/web-%d/abc", i), Managed: i == 11,
			TagSet: []ec2test.Tag{{Key: "tier", Value: []string{"web", "db", "cache"}[i%3]}}})
	}
	srv.Seed("us-east-1", e)
	srv.Seed("eu-west-1", ec2test.Estate{NetworkInterfaces: e.NetworkInterfaces[:2]})
	c := srv.Client("us-east-1", 1)
	tests := []struct {
		name    string
		in      ec2.DescribeNetworkInterfacesInput
		wantIDs []string
	}{
		{"managed hidden by default", ec2.DescribeNetworkInterfacesInput{MaxResults: aws.Int32(5)},
			[]string{"eni-00", "eni-01", "eni-02", "eni-03", "eni-04", "eni-05", "eni-06", "eni-07", "eni-08", "eni-09", "eni-10"}},
		{"managed included", ec2.DescribeNetworkInterfacesInput{MaxResults: aws.Int32(5), IncludeManagedResources: aws.Bool(true)},
			[]string{"eni-00", "eni-01", "eni-02", "eni-03", "eni-04", "eni-05", "eni-06", "eni-07", "eni-08", "eni-09", "eni-10", "eni-11"}},
		{"vpc filter", ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{"vpc-1"}}}},
			[]string{"eni-01", "eni-03", "eni-05", "eni-07", "eni-09"}},
		{"values are ORed, filters ANDed", ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{
			{Name: aws.String("tag:tier"), Values: []string{"db", "cache"}}, {Name: aws.String("vpc-id"), Values: []string{"vpc-0"}}}},
			[]string{"eni-02", "eni-04", "eni-08", "eni-10"}},
		{"wildcards", ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("description"), Values: []string{"ELB app/web-?/*"}}}},
			[]string{"eni-00", "eni-01", "eni-02", "eni-03", "eni-04", "eni-05", "eni-06", "eni-07", "eni-08", "eni-09"}},
		{"escaped wildcard is literal", ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("description"), Values: []string{`ELB app/web-\?/*`}}}},
			nil},
		{"ids", ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{"eni-03", "eni-07"}}, []string{"eni-03", "eni-07"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(srv.Requests())
			p := ec2.NewDescribeNetworkInterfacesPaginator(c, &tc.in)
			var ids []string
			for p.HasMorePages() {
				page, err := p.NextPage(context.Background())
				must(t, err)
				if tc.in.MaxResults != nil && len(page.NetworkInterfaces) > int(*tc.in.MaxResults) {
					t.Errorf("page of %d", len(page.NetworkInterfaces))
				}
				for _, n := range page.NetworkInterfaces {
					ids = append(ids, aws.ToString(n.NetworkInterfaceId))
				}
			}
			if d := cmp.Diff(tc.wantIDs, ids); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			wantPages := 1
			if tc.in.MaxResults != nil {
				wantPages = (len(tc.wantIDs) + 4) / 5
			}
			if got := len(srv.Requests()) - before; got != wantPages {
				t.Errorf("%d requests, want %d", got, wantPages)
			}
		})
	}
	// Regions are apart.
	out, err := srv.Client("eu-west-1", 1).DescribeNetworkInterfaces(context.Background(), &ec2.DescribeNetworkInterfacesInput{})
	must(t, err)
	if len(out.NetworkInterfaces) != 2 {
		t.Errorf("eu-west-1 has %d interfaces", len(out.NetworkInterfaces))
	}
}

// TestReservationsGrouped checks that instances come back in their
// reservations, page by page.
func TestReservationsGrouped(t *testing.T) {
	srv := ec2test.Start(t)
	var e ec2test.Estate
	for r := range 4 {
		res := ec2test.Reservation{ReservationId: fmt.Sprintf("r-%d", r)}
		for i := range 3 {
			res.Instances = append(res.Instances, ec2test.Instance{InstanceId: fmt.Sprintf("i-%d%d", r, i)})
		}
		e.Reservations = append(e.Reservations, res)
	}
	srv.Seed("us-east-1", e)
	p := ec2.NewDescribeInstancesPaginator(srv.Client("us-east-1", 1), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	var got []string
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		must(t, err)
		var parts []string
		for _, r := range page.Reservations {
			var ids []string
			for _, in := range r.Instances {
				ids = append(ids, aws.ToString(in.InstanceId))
			}
			parts = append(parts, aws.ToString(r.ReservationId)+":"+strings.Join(ids, ","))
		}
		got = append(got, strings.Join(parts, " "))
	}
	want := []string{"r-0:i-00,i-01,i-02 r-1:i-10,i-11", "r-1:i-12 r-2:i-20,i-21,i-22 r-3:i-30", "r-3:i-31,i-32"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("pages (-want +got):\n%s", d)
	}
}

func TestErrors(t *testing.T) {
	srv := ec2test.Start(t)
	srv.Seed("us-east-1", full)
	c := srv.Client("us-east-1", 1)
	ctx := context.Background()
	tests := []struct {
		name     string
		call     func() error
		wantCode string
	}{
		{"page too small", func() error {
			_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{MaxResults: aws.Int32(4)})
			return err
		}, "InvalidParameterValue"},
		{"ids with MaxResults", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-1"}, MaxResults: aws.Int32(5)})
			return err
		}, "InvalidParameterCombination"},
		{"unknown filter", func() error {
			_, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}})
			return err
		}, "InvalidParameterValue"},
		{"bad token", func() error {
			_, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NextToken: aws.String("bm9wZQ")})
			return err
		}, "InvalidPaginationToken"},
		{"token of another action", func() error {
			// A token from DescribeFlowLogs is not one of DescribeVpcs.
			srv.Seed("us-east-1", ec2test.Estate{FlowLogs: make([]ec2test.FlowLog, 6)})
			out, err := c.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{MaxResults: aws.Int32(5)})
			if err != nil || out.NextToken == nil {
				return fmt.Errorf("no token: %v", err)
			}
			_, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{NextToken: out.NextToken})
			return err
		}, "InvalidPaginationToken"},
		{"dry run", func() error {
			_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{DryRun: aws.Bool(true)})
			return err
		}, "DryRunOperation"},
		{"throttled", func() error {
			srv.Throttle("DescribeVpcs", 1)
			_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			return err
		}, "RequestLimitExceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.wantCode {
				t.Fatalf("err = %v, want code %s", err, tc.wantCode)
			}
		})
	}
}

// TestWire checks the raw protocol: unsigned requests, unknown actions
// and the XML document.
func TestWire(t *testing.T) {
	srv := ec2test.Start(t)
	srv.Seed("us-east-1", ec2test.Estate{Vpcs: full.Vpcs})
	post := func(form url.Values, auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	auth := "AWS4-HMAC-SHA256 Credential=AKIDTEST/" + time.Now().UTC().Format("20060102") + "/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0"
	tests := []struct {
		name       string
		form       url.Values
		auth       string
		wantStatus int
		want       []string
	}{
		{"unsigned", url.Values{"Action": {"DescribeVpcs"}, "Version": {"2016-11-15"}}, "", 401,
			[]string{"<Response><Errors><Error><Code>AuthFailure</Code>", "<RequestID>"}},
		{"unknown action", url.Values{"Action": {"RunInstances"}, "Version": {"2016-11-15"}}, auth, 400, []string{"<Code>InvalidAction</Code>"}},
		{"no version", url.Values{"Action": {"DescribeVpcs"}}, auth, 400, []string{"<Code>MissingParameter</Code>"}},
		{"describe", url.Values{"Action": {"DescribeVpcs"}, "Version": {"2016-11-15"}}, auth, 200, []string{
			`<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`,
			"<vpcSet><item><vpcId>vpc-1</vpcId>", "<cidrBlockAssociationSet><item><associationId>vpc-cidr-assoc-1</associationId><cidrBlock>10.0.0.0/16</cidrBlock></item></cidrBlockAssociationSet>",
			"<tagSet><item><key>Name</key><value>prod</value></item></tagSet>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(tc.form, tc.auth)
			if status != tc.wantStatus {
				t.Errorf("status %d, want %d: %s", status, tc.wantStatus, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %s:\n%s", w, body)
				}
			}
		})
	}
}
