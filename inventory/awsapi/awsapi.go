// Package awsapi builds the inventory from the EC2 API: network
// interfaces, NAT gateways, VPCs, subnets and instances of one or more
// regions, each list read to its last page with the SDK's paginators. It
// also looks up the record format of the flow log that delivers to a
// CloudWatch Logs group.
//
// The SDK's output structs carry the API's member names, which are the
// keys 'aws ec2 describe-*' prints. Sync encodes what it read in that
// shape and hands it to inventory.Parse, so the API and the JSON files
// go through one conversion and give the same inventory.
package awsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/flowlens/flowlens/awsconf"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/inventory"
)

// API is the part of the EC2 client this package calls; *ec2.Client
// implements it.
type API interface {
	ec2.DescribeNetworkInterfacesAPIClient
	ec2.DescribeNatGatewaysAPIClient
	ec2.DescribeVpcsAPIClient
	ec2.DescribeSubnetsAPIClient
	ec2.DescribeInstancesAPIClient
	ec2.DescribeFlowLogsAPIClient
}

var _ API = (*ec2.Client)(nil)

// Region is the client of one region.
type Region struct {
	// Name is the region (us-east-1); it labels counts and errors.
	Name   string
	Client API
}

// Config says how to reach EC2.
type Config struct {
	// Regions to read; empty reads the SDK's default region (AWS_REGION,
	// the profile, then us-east-1).
	Regions []string
	// Profile is the shared-config profile; empty uses AWS_PROFILE or the
	// default profile.
	Profile string
	// RoleARN, when set, is assumed with STS AssumeRole on top of the base
	// credentials.
	RoleARN string
	// ExternalID is passed to AssumeRole.
	ExternalID string
	// EndpointURL overrides the EC2 endpoint of every region. Empty keeps
	// the SDK's resolution, which honours AWS_ENDPOINT_URL_EC2 and
	// AWS_ENDPOINT_URL.
	EndpointURL string
	// MaxAttempts is the number of tries of a request (throttling, 5xx and
	// connection errors are retried with exponential backoff).
	MaxAttempts int
	// MaxBackoff caps the delay between two tries.
	MaxBackoff time.Duration
}

// DefaultConfig returns the settings the CLI starts from.
func DefaultConfig() Config {
	d := awsconf.DefaultOptions()
	return Config{MaxAttempts: d.MaxAttempts, MaxBackoff: d.MaxBackoff}
}

var reRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// Validate checks the settings.
func (c *Config) Validate() error {
	seen := map[string]bool{}
	for _, r := range c.Regions {
		if !reRegion.MatchString(r) {
			return fmt.Errorf("ec2: %q is not a region name", r)
		}
		if seen[r] {
			return fmt.Errorf("ec2: region %s given twice", r)
		}
		seen[r] = true
	}
	if err := c.options().Validate(); err != nil {
		return fmt.Errorf("ec2: %w", err)
	}
	return nil
}

// options are the AWS options of the first region (the one credentials
// and role are resolved in).
func (c *Config) options() awsconf.Options {
	o := awsconf.Options{Profile: c.Profile, RoleARN: c.RoleARN, ExternalID: c.ExternalID,
		MaxAttempts: c.MaxAttempts, MaxBackoff: c.MaxBackoff}
	if len(c.Regions) > 0 {
		o.Region = c.Regions[0]
	}
	return o
}

// NewClients resolves credentials (profile, role, external id) once, the
// way the S3 and SQS sources do, and returns one EC2 client per region.
func NewClients(ctx context.Context, cfg Config) ([]Region, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ac, err := awsconf.Load(ctx, cfg.options())
	if err != nil {
		return nil, fmt.Errorf("ec2: %w", err)
	}
	regions := cfg.Regions
	if len(regions) == 0 {
		regions = []string{ac.Region}
	}
	out := make([]Region, 0, len(regions))
	for _, name := range regions {
		client := ec2.NewFromConfig(ac, func(o *ec2.Options) {
			o.Region = name
			if cfg.EndpointURL != "" {
				o.BaseEndpoint = aws.String(cfg.EndpointURL)
			}
		})
		out = append(out, Region{Name: name, Client: client})
	}
	return out, nil
}

// Options tune Sync.
type Options struct {
	// PageSize is the MaxResults of each request (5 to 1000); 0 uses
	// 1000.
	PageSize int32
	// Concurrency bounds the regions read at the same time; 0 uses 4.
	// Within a region the five lists are read one after the other, which
	// keeps well inside EC2's request rate.
	Concurrency int
}

// Counts is what one region returned.
type Counts struct {
	Region      string
	ENIs        int
	NATGateways int
	VPCs        int
	Subnets     int
	Instances   int
	// Pages is the number of successful requests.
	Pages int
}

// Sync reads every region and returns the merged inventory (objects with
// the same ID in two regions: the later region wins) and the counts per
// region, in the order of regions. The first error cancels the other
// regions and is returned with the region and operation.
func Sync(ctx context.Context, regions []Region, opts Options) (*inventory.Inventory, []Counts, error) {
	if opts.PageSize == 0 {
		opts.PageSize = 1000
	}
	if opts.PageSize < 5 || opts.PageSize > 1000 {
		return nil, nil, fmt.Errorf("ec2: page size %d is outside 5..1000", opts.PageSize)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	invs := make([]*inventory.Inventory, len(regions))
	counts := make([]Counts, len(regions))
	errs := make([]error, len(regions))
	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	for i, r := range regions {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = context.Cause(ctx)
				return
			}
			defer func() { <-sem }()
			invs[i], counts[i], errs[i] = syncRegion(ctx, r, opts.PageSize)
			if errs[i] != nil {
				cancel(errs[i])
			}
		})
	}
	wg.Wait()
	// Report the error that cancelled the others, not the cancellations.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, nil, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	inv := &inventory.Inventory{}
	for _, one := range invs {
		inv.Merge(one)
	}
	return inv, counts, nil
}

// describeDoc is the shape 'aws ec2 describe-*' prints, filled from the
// SDK's types.
type describeDoc struct {
	NetworkInterfaces []types.NetworkInterface
	NatGateways       []types.NatGateway
	Vpcs              []types.Vpc
	Subnets           []types.Subnet
	Reservations      []types.Reservation
}

func syncRegion(ctx context.Context, r Region, pageSize int32) (*inventory.Inventory, Counts, error) {
	c := Counts{Region: r.Name}
	var doc describeDoc
	fail := func(op string, err error) (*inventory.Inventory, Counts, error) {
		return nil, c, fmt.Errorf("ec2 %s %s: %w", r.Name, op, err)
	}
	var err error
	enis := ec2.NewDescribeNetworkInterfacesPaginator(r.Client, &ec2.DescribeNetworkInterfacesInput{
		MaxResults: aws.Int32(pageSize), IncludeManagedResources: aws.Bool(true)})
	if doc.NetworkInterfaces, err = allPages(ctx, enis.HasMorePages, enis.NextPage, &c.Pages,
		func(o *ec2.DescribeNetworkInterfacesOutput) []types.NetworkInterface { return o.NetworkInterfaces }); err != nil {
		return fail("DescribeNetworkInterfaces", err)
	}
	nats := ec2.NewDescribeNatGatewaysPaginator(r.Client, &ec2.DescribeNatGatewaysInput{MaxResults: aws.Int32(pageSize)})
	if doc.NatGateways, err = allPages(ctx, nats.HasMorePages, nats.NextPage, &c.Pages,
		func(o *ec2.DescribeNatGatewaysOutput) []types.NatGateway { return o.NatGateways }); err != nil {
		return fail("DescribeNatGateways", err)
	}
	vpcs := ec2.NewDescribeVpcsPaginator(r.Client, &ec2.DescribeVpcsInput{MaxResults: aws.Int32(pageSize)})
	if doc.Vpcs, err = allPages(ctx, vpcs.HasMorePages, vpcs.NextPage, &c.Pages,
		func(o *ec2.DescribeVpcsOutput) []types.Vpc { return o.Vpcs }); err != nil {
		return fail("DescribeVpcs", err)
	}
	subnets := ec2.NewDescribeSubnetsPaginator(r.Client, &ec2.DescribeSubnetsInput{MaxResults: aws.Int32(pageSize)})
	if doc.Subnets, err = allPages(ctx, subnets.HasMorePages, subnets.NextPage, &c.Pages,
		func(o *ec2.DescribeSubnetsOutput) []types.Subnet { return o.Subnets }); err != nil {
		return fail("DescribeSubnets", err)
	}
	instances := ec2.NewDescribeInstancesPaginator(r.Client, &ec2.DescribeInstancesInput{
		MaxResults: aws.Int32(pageSize), IncludeManagedResources: aws.Bool(true)})
	if doc.Reservations, err = allPages(ctx, instances.HasMorePages, instances.NextPage, &c.Pages,
		func(o *ec2.DescribeInstancesOutput) []types.Reservation { return o.Reservations }); err != nil {
		return fail("DescribeInstances", err)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return fail("encode", err)
	}
	one, err := inventory.Parse(data)
	if err != nil {
		return fail("convert", err)
	}
	// Merging into an empty inventory orders by ID and folds duplicates,
	// as loading describe-* files does.
	inv := &inventory.Inventory{}
	inv.Merge(one)
	c.ENIs, c.NATGateways, c.VPCs, c.Subnets, c.Instances = len(inv.ENIs), len(inv.NATGateways), len(inv.VPCs), len(inv.Subnets), len(inv.Instances)
	return inv, c, nil
}

// allPages reads every page of a paginator (its HasMorePages and NextPage),
// counting them in pages, and returns the items of all of them.
func allPages[O, T any](ctx context.Context, more func() bool, next func(context.Context, ...func(*ec2.Options)) (O, error),
	pages *int, items func(O) []T) ([]T, error) {
	var all []T
	for more() {
		page, err := next(ctx)
		if err != nil {
			return nil, err
		}
		*pages++
		all = append(all, items(page)...)
	}
	return all, nil
}

// ErrNoFlowLog is returned by FlowLogFormat when no flow log delivers to
// the log group.
var ErrNoFlowLog = errors.New("no flow log delivers to this log group")

// FlowLogFormat returns the record format (the ${field} string) of the
// flow log that delivers to the CloudWatch Logs group logGroup, from
// DescribeFlowLogs filtered by log-group-name. Several flow logs may
// deliver to one group: they must agree on the format. A flow log
// without a format has the default (version 2) one.
func FlowLogFormat(ctx context.Context, client ec2.DescribeFlowLogsAPIClient, logGroup string) (string, error) {
	p := ec2.NewDescribeFlowLogsPaginator(client, &ec2.DescribeFlowLogsInput{
		Filter: []types.Filter{{Name: aws.String("log-group-name"), Values: []string{escapeFilter(logGroup)}}},
	})
	formats := map[string][]string{} // format -> flow log IDs
	var order []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("ec2 DescribeFlowLogs log group %s: %w", logGroup, err)
		}
		for _, fl := range page.FlowLogs {
			f := aws.ToString(fl.LogFormat)
			if f == "" {
				f = flowlog.V2.String()
			}
			if _, ok := formats[f]; !ok {
				order = append(order, f)
			}
			formats[f] = append(formats[f], aws.ToString(fl.FlowLogId))
		}
	}
	switch len(order) {
	case 0:
		return "", fmt.Errorf("log group %s: %w (DescribeFlowLogs found none; pass --format)", logGroup, ErrNoFlowLog)
	case 1:
		return order[0], nil
	}
	var parts []string
	for _, f := range order {
		parts = append(parts, fmt.Sprintf("%s: %q", strings.Join(formats[f], ","), f))
	}
	return "", fmt.Errorf("log group %s: flow logs with different formats deliver to it (%s); pass --format", logGroup, strings.Join(parts, "; "))
}

// escapeFilter makes a filter value match literally: EC2 filter values
// treat * and ? as wildcards and \ as the escape character.
func escapeFilter(v string) string {
	var sb strings.Builder
	for _, c := range v {
		if c == '*' || c == '?' || c == '\\' {
			sb.WriteByte('\\')
		}
		sb.WriteRune(c)
	}
	return sb.String()
}
