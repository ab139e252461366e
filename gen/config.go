// Package gen generates realistic, deterministic VPC flow-log data for tests,
// benchmarks and demonstrations.
//
// It models a small AWS estate (accounts, dual-stack VPCs, public, private and
// Outpost subnets, EC2 instances, NAT gateways, load balancers, RDS, Lambda,
// ECS tasks, VPC endpoints and a transit gateway) and writes the records AWS
// would deliver for its traffic: both directions of every flow on each
// interface it crosses (a NAT gateway adds four records to the instance's
// two), heavy-tailed destination popularity and byte counts, inbound REJECT
// noise from internet scanners, NODATA and SKIPDATA records, and IPv6.
// Optional planted incidents (a port scan, an SSH brute force, an
// exfiltration and traffic to indicator-of-compromise addresses) are
// described exactly by the Truth that Generate returns, so tests can check
// analyses against known answers.
//
// The same Config (Seed included) always produces the same bytes; the
// traffic does not depend on the output format, so a V2 file and an
// all-fields file generated with one seed describe the same flows.
package gen

import (
	"errors"
	"fmt"
	"time"

	"github.com/flowlens/flowlens/flowlog"
)

// Config says what to generate. The zero value of a field marked "zero means
// default" takes the value DefaultConfig gives it; a zero Scenarios plants
// nothing.
type Config struct {
	// Seed selects the random stream; equal configs give identical output.
	Seed uint64
	// Records is the exact number of records written (header lines are not
	// records). Planted scenarios are part of this count.
	Records int
	// Start is the beginning of the first capture window; it is truncated to
	// a multiple of Window. Zero means default (2024-03-11 00:00 UTC).
	Start time.Time
	// Duration is the time range the capture windows advance over. Zero
	// means default (one hour).
	Duration time.Duration
	// Window is the aggregation interval: every record's start and end fall
	// inside one window. AWS offers 60 s and 600 s. Zero means 60 s.
	Window time.Duration
	// Format is the record layout; nil means flowlog.V2. Every catalog field
	// is filled with a plausible value, or '-' where AWS would write one.
	Format *flowlog.Format
	// Header writes the format's tokens as a first line, as S3 delivery
	// does. WriteTree always writes it.
	Header bool
	// Gzip compresses Generate's output (WriteTree always compresses).
	Gzip bool
	// IPv6Share is the fraction (0 to 1) of background conversations that use
	// IPv6 where the endpoints have IPv6 addresses.
	IPv6Share float64
	// Region is the AWS region of the estate. Zero means "us-east-1".
	Region string
	// Accounts is the number of AWS accounts. Zero means default (1).
	Accounts int
	// VPCsPerAccount is the number of VPCs in each account; VPC n gets
	// 10.n.0.0/16. Zero means default (2).
	VPCsPerAccount int
	// Instances is the number of EC2 instances per VPC (at least 12). Zero
	// means default (40).
	Instances int
	// AZs is the number of Availability Zones each VPC spans (1 to 6). Zero
	// means default (3).
	AZs int
	// ExternalHosts is the size of the pool of public IPv4 destinations
	// (a quarter as many IPv6 ones are added). Zero means default (5000).
	ExternalHosts int
	// Scenarios selects the planted incidents.
	Scenarios Scenarios
	// Extra selects the opt-in scenarios planted for the detection rules
	// (sweep, bypass, dbegress, skipdata, dns, tunnel, newdest).
	Extra Extra
}

// Scenarios selects planted incidents. Each is off unless Enabled.
type Scenarios struct {
	// PortScan plants a port scan of an internet-facing instance.
	PortScan PortScan
	// SSHBruteForce plants an SSH brute force against a bastion host.
	SSHBruteForce SSHBruteForce
	// Exfiltration plants a large upload to one internet address.
	Exfiltration Exfiltration
	// IOC plants traffic with addresses of a generated indicator list.
	IOC IOC
}

// PortScan plants one external address probing many TCP ports of one
// internet-facing instance; closed ports are REJECTed, a few open ones are
// accepted and answered.
type PortScan struct {
	// Enabled plants the scenario.
	Enabled bool
	// Ports is the number of distinct destination ports probed (1 to 65535).
	// Zero means 1000.
	Ports int
	// Duration is how long the scan lasts. Zero means 5 minutes.
	Duration time.Duration
}

// SSHBruteForce plants one external address making many short accepted
// connections to port 22 of a bastion host.
type SSHBruteForce struct {
	// Enabled plants the scenario.
	Enabled bool
	// Attempts is the number of connections. Zero means 300.
	Attempts int
	// Duration is how long the attack lasts. Zero means 30 minutes.
	Duration time.Duration
}

// Exfiltration plants an internal instance in a private subnet uploading a
// large amount of data through its NAT gateway to one external address.
type Exfiltration struct {
	// Enabled plants the scenario.
	Enabled bool
	// Bytes is the total sent from the instance to the destination, as seen
	// on the instance's interface. Zero means 8 GiB.
	Bytes int64
	// Flows is the number of connections the upload is split into. Zero
	// means 60.
	Flows int
	// Duration is how long the upload lasts. Zero means 40 minutes.
	Duration time.Duration
}

// IOC plants traffic to and from addresses on a generated indicator list:
// outbound beacons through NAT gateways and inbound rejected probes. When the
// port scan or brute force is planted, its source is added to the list too.
type IOC struct {
	// Enabled plants the scenario.
	Enabled bool
	// ListSize is the number of generated indicator addresses. Zero means 25.
	ListSize int
	// Contacted is how many of them appear in the traffic. Zero means 6.
	Contacted int
	// FlowsPerIP is the number of conversations with each contacted address.
	// Zero means 10.
	FlowsPerIP int
}

// DefaultStart is the start time used when Config.Start is zero.
var DefaultStart = time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC)

// DefaultConfig returns a configuration for a 100,000-record hour of v2
// records from a two-VPC estate with every scenario planted.
func DefaultConfig() Config {
	return Config{
		Seed:           1,
		Records:        100_000,
		Start:          DefaultStart,
		Duration:       time.Hour,
		Window:         time.Minute,
		Format:         flowlog.V2,
		IPv6Share:      0.08,
		Region:         "us-east-1",
		Accounts:       1,
		VPCsPerAccount: 2,
		Instances:      40,
		AZs:            3,
		ExternalHosts:  5000,
		Scenarios: Scenarios{
			PortScan:      PortScan{Enabled: true, Ports: 1000, Duration: 5 * time.Minute},
			SSHBruteForce: SSHBruteForce{Enabled: true, Attempts: 300, Duration: 30 * time.Minute},
			Exfiltration:  Exfiltration{Enabled: true, Bytes: 8 << 30, Flows: 60, Duration: 40 * time.Minute},
			IOC:           IOC{Enabled: true, ListSize: 25, Contacted: 6, FlowsPerIP: 10},
		},
	}
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Start.IsZero() {
		c.Start = d.Start
	}
	if c.Duration == 0 {
		c.Duration = d.Duration
	}
	if c.Window == 0 {
		c.Window = d.Window
	}
	if c.Format == nil {
		c.Format = d.Format
	}
	if c.Region == "" {
		c.Region = d.Region
	}
	if c.Accounts == 0 {
		c.Accounts = d.Accounts
	}
	if c.VPCsPerAccount == 0 {
		c.VPCsPerAccount = d.VPCsPerAccount
	}
	if c.Instances == 0 {
		c.Instances = d.Instances
	}
	if c.AZs == 0 {
		c.AZs = d.AZs
	}
	if c.ExternalHosts == 0 {
		c.ExternalHosts = d.ExternalHosts
	}
	s, ds := &c.Scenarios, d.Scenarios
	if s.PortScan.Ports == 0 {
		s.PortScan.Ports = ds.PortScan.Ports
	}
	if s.PortScan.Duration == 0 {
		s.PortScan.Duration = ds.PortScan.Duration
	}
	if s.SSHBruteForce.Attempts == 0 {
		s.SSHBruteForce.Attempts = ds.SSHBruteForce.Attempts
	}
	if s.SSHBruteForce.Duration == 0 {
		s.SSHBruteForce.Duration = ds.SSHBruteForce.Duration
	}
	if s.Exfiltration.Bytes == 0 {
		s.Exfiltration.Bytes = ds.Exfiltration.Bytes
	}
	if s.Exfiltration.Flows == 0 {
		s.Exfiltration.Flows = ds.Exfiltration.Flows
	}
	if s.Exfiltration.Duration == 0 {
		s.Exfiltration.Duration = ds.Exfiltration.Duration
	}
	if s.IOC.ListSize == 0 {
		s.IOC.ListSize = ds.IOC.ListSize
	}
	if s.IOC.Contacted == 0 {
		s.IOC.Contacted = ds.IOC.Contacted
	}
	if s.IOC.FlowsPerIP == 0 {
		s.IOC.FlowsPerIP = ds.IOC.FlowsPerIP
	}
	return c
}

// ErrTooFewRecords is returned (wrapped) when Records cannot hold the
// records the planted scenarios need.
var ErrTooFewRecords = errors.New("too few records for the planted scenarios")

// Validate reports every problem with c (after defaults are applied to zero
// fields). It does not check that Records can hold the planted
// scenarios; Generate does, returning ErrTooFewRecords.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Records < 0 {
		bad("records: %d is negative", c.Records)
	}
	if c.Window < time.Second || c.Window%time.Second != 0 {
		bad("window: %v is not a whole number of seconds", c.Window)
	}
	if c.Duration < c.Window {
		bad("duration: %v is shorter than the %v window", c.Duration, c.Window)
	}
	if c.Start.Unix() < 0 {
		bad("start: %v is before 1970", c.Start)
	}
	if !(c.IPv6Share >= 0 && c.IPv6Share <= 1) {
		bad("ipv6 share: %v is not between 0 and 1", c.IPv6Share)
	}
	if c.Accounts < 1 || c.VPCsPerAccount < 1 || c.Accounts*c.VPCsPerAccount > 200 {
		bad("accounts x vpcs: %d x %d, want 1 to 200 VPCs", c.Accounts, c.VPCsPerAccount)
	}
	if c.Instances < 12 || c.Instances > 2000 {
		bad("instances: %d per VPC, want 12 to 2000", c.Instances)
	}
	if c.AZs < 1 || c.AZs > 6 {
		bad("azs: %d, want 1 to 6", c.AZs)
	}
	if c.ExternalHosts < 10 || c.ExternalHosts > 1_000_000 {
		bad("external hosts: %d, want 10 to 1000000", c.ExternalHosts)
	}
	if len(c.Format.IDs) == 0 {
		bad("format: no fields")
	}
	s := c.Scenarios
	if s.PortScan.Enabled && (s.PortScan.Ports < 1 || s.PortScan.Ports > 65535) {
		bad("port scan: %d ports, want 1 to 65535", s.PortScan.Ports)
	}
	if s.SSHBruteForce.Enabled && s.SSHBruteForce.Attempts < 1 {
		bad("ssh brute force: %d attempts", s.SSHBruteForce.Attempts)
	}
	if s.Exfiltration.Enabled {
		if s.Exfiltration.Flows < 1 {
			bad("exfiltration: %d flows", s.Exfiltration.Flows)
		}
		if s.Exfiltration.Bytes < int64(s.Exfiltration.Flows)*1500 {
			bad("exfiltration: %d bytes is too little for %d flows", s.Exfiltration.Bytes, s.Exfiltration.Flows)
		}
	}
	if s.IOC.Enabled {
		if s.IOC.ListSize < 1 || s.IOC.ListSize > 100_000 {
			bad("ioc: list size %d, want 1 to 100000", s.IOC.ListSize)
		}
		if s.IOC.Contacted < 0 || s.IOC.Contacted > s.IOC.ListSize {
			bad("ioc: %d contacted of a %d-address list", s.IOC.Contacted, s.IOC.ListSize)
		}
		if s.IOC.FlowsPerIP < 1 {
			bad("ioc: %d flows per address", s.IOC.FlowsPerIP)
		}
	}
	x := c.Extra
	if x.Bypass.Flows < 0 || x.DBEgress.Bytes < 0 || x.SkipData.Windows < 0 || x.DNS.Queries < 0 || x.NewDest.Flows < 0 || x.NewDest.Duration < 0 {
		bad("extra scenarios: negative size")
	}
	if x.Tunnel.Protocol < 0 || x.Tunnel.Protocol > 255 || x.Sweep.Port < 0 || x.Sweep.Port > 65535 {
		bad("extra scenarios: protocol or port out of range")
	}
	if x.DBEgress.Enabled && x.DBEgress.Bytes != 0 && x.DBEgress.Bytes < 5*1500 {
		bad("db egress: %d bytes is too little", x.DBEgress.Bytes)
	}
	for _, d := range []struct {
		name string
		on   bool
		v    time.Duration
	}{
		{"port scan", s.PortScan.Enabled, s.PortScan.Duration},
		{"ssh brute force", s.SSHBruteForce.Enabled, s.SSHBruteForce.Duration},
		{"exfiltration", s.Exfiltration.Enabled, s.Exfiltration.Duration},
	} {
		if d.on && d.v < 0 {
			bad("%s: negative duration %v", d.name, d.v)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("gen config: %w", errors.Join(errs...))
	}
	return nil
}
