package gen

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// AddFlags registers the settings of c as command-line flags on fs, with
// c's current values as defaults (start from DefaultConfig). It is the
// option set of `flowlens gen`.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "random seed; the same seed and options give the same bytes")
	fs.IntVar(&c.Records, "records", c.Records, "exact number of records to write (planted scenarios included)")
	fs.Var(&timeValue{&c.Start}, "start", "start of the first capture window (RFC 3339, or YYYY-MM-DD)")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "time range the records cover")
	fs.DurationVar(&c.Window, "window", c.Window, "aggregation interval (AWS: 1m or 10m)")
	fs.Var(&formatValue{&c.Format}, "format", "record format: v2, tgw, all, or an AWS format string (\"${version} ${srcaddr} ...\" or plain field names)")
	fs.BoolVar(&c.Header, "header", c.Header, "write the format's field names as a first line, as S3 delivery does")
	fs.BoolVar(&c.Gzip, "gzip", c.Gzip, "gzip the output (implied by an --out name ending in .gz)")
	fs.Float64Var(&c.IPv6Share, "ipv6-share", c.IPv6Share, "fraction of conversations that use IPv6 where both ends can")
	fs.StringVar(&c.Region, "region", c.Region, "AWS region of the modelled estate")
	fs.IntVar(&c.Accounts, "accounts", c.Accounts, "number of AWS accounts")
	fs.IntVar(&c.VPCsPerAccount, "vpcs", c.VPCsPerAccount, "VPCs per account")
	fs.IntVar(&c.Instances, "instances", c.Instances, "EC2 instances per VPC")
	fs.IntVar(&c.AZs, "azs", c.AZs, "Availability Zones per VPC")
	fs.IntVar(&c.ExternalHosts, "external-hosts", c.ExternalHosts, "size of the pool of internet destinations")
	fs.Var(scenarioList(&c.Scenarios), "scenarios", "planted scenarios: all, none, or a comma list of portscan,bruteforce,exfil,ioc")
	fs.Var(extraList(&c.Extra), "detection-scenarios", "opt-in scenarios for the detection rules: all, none, or a comma list of "+strings.Join(extraOrder, ","))
	fs.IntVar(&c.Scenarios.PortScan.Ports, "scan-ports", c.Scenarios.PortScan.Ports, "distinct ports the port scan probes")
	fs.IntVar(&c.Scenarios.SSHBruteForce.Attempts, "bruteforce-attempts", c.Scenarios.SSHBruteForce.Attempts, "connections of the SSH brute force")
	fs.Int64Var(&c.Scenarios.Exfiltration.Bytes, "exfil-bytes", c.Scenarios.Exfiltration.Bytes, "bytes the exfiltration uploads")
	fs.IntVar(&c.Scenarios.Exfiltration.Flows, "exfil-flows", c.Scenarios.Exfiltration.Flows, "connections the exfiltration uses")
	fs.IntVar(&c.Scenarios.IOC.ListSize, "ioc-size", c.Scenarios.IOC.ListSize, "addresses on the generated IOC list")
	fs.IntVar(&c.Scenarios.IOC.Contacted, "ioc-contacted", c.Scenarios.IOC.Contacted, "IOC addresses that appear in the traffic")
}

// Output says where `flowlens gen` writes.
type Output struct {
	// Path is the file the records go to; "" or "-" is standard output. A
	// name ending in .gz turns on gzip.
	Path string
	// TreeDir, when set, receives an S3-style tree of 5-minute gzip files
	// (see WriteTree) instead of Path.
	TreeDir string
	// IOCFile, when set, receives the IOC list as CSV (ip,comment).
	IOCFile string
	// TruthFile, when set, receives the Truth as JSON.
	TruthFile string
	// InventoryFile, when set, receives the estate's network interfaces,
	// VPCs and subnets as 'aws ec2 describe-*' JSON (see WriteInventory).
	InventoryFile string
}

// AddFlags registers the output flags on fs.
func (o *Output) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Path, "out", o.Path, "file to write the records to (default standard output; .gz compresses)")
	fs.StringVar(&o.TreeDir, "tree", o.TreeDir, "write an S3-style tree (AWSLogs/...) of 5-minute .log.gz files under this folder")
	fs.StringVar(&o.IOCFile, "ioc-out", o.IOCFile, "write the generated IOC list (CSV ip,comment) to this file")
	fs.StringVar(&o.TruthFile, "truth-out", o.TruthFile, "write the manifest of planted facts (JSON) to this file")
	fs.StringVar(&o.InventoryFile, "inventory", o.InventoryFile, "write the estate's interfaces, VPCs and subnets as 'aws ec2 describe-*' JSON to this file (for --inventory enrichment)")
}

// Run generates records as cfg and o say; stdout receives them when o names
// no file or tree. It returns the Truth and the data files written.
func Run(cfg Config, o Output, stdout io.Writer) (*Truth, []string, error) {
	if o.TreeDir != "" && o.Path != "" && o.Path != "-" {
		return nil, nil, errors.New("gen: --out and --tree are exclusive")
	}
	var t *Truth
	var files []string
	var err error
	switch {
	case o.TreeDir != "":
		t, files, err = WriteTree(cfg, o.TreeDir)
	case o.Path == "" || o.Path == "-":
		t, err = Generate(cfg, stdout)
	default:
		if strings.HasSuffix(o.Path, ".gz") {
			cfg.Gzip = true
		}
		t, err = writeFile(o.Path, func(w io.Writer) (*Truth, error) { return Generate(cfg, w) })
		files = []string{o.Path}
	}
	if err != nil {
		return nil, files, err
	}
	if o.IOCFile != "" {
		if _, err := writeFile(o.IOCFile, func(w io.Writer) (*Truth, error) { return t, WriteIOCList(t, w) }); err != nil {
			return nil, files, err
		}
	}
	if o.InventoryFile != "" {
		if _, err := writeFile(o.InventoryFile, func(w io.Writer) (*Truth, error) { return t, WriteInventory(t, w) }); err != nil {
			return nil, files, err
		}
	}
	if o.TruthFile != "" {
		if _, err := writeFile(o.TruthFile, func(w io.Writer) (*Truth, error) { return t, t.WriteJSON(w) }); err != nil {
			return nil, files, err
		}
	}
	return t, files, nil
}

func writeFile(path string, fn func(io.Writer) (*Truth, error)) (*Truth, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	t, err := fn(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("gen: %w", cerr)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

type timeValue struct{ t *time.Time }

func (v *timeValue) String() string {
	if v.t == nil || v.t.IsZero() {
		return ""
	}
	return v.t.UTC().Format(time.RFC3339)
}

func (v *timeValue) Set(s string) error {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			*v.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("start %q: want RFC 3339 (2024-03-11T00:00:00Z) or a date", s)
}

func (v *timeValue) Type() string { return "time" }

type formatValue struct{ f **flowlog.Format }

// AllFields returns a format holding every catalog field, in catalog order
// (the VPC fields of versions 2 to 11, then the Transit Gateway fields).
func AllFields() *flowlog.Format {
	names := make([]string, len(schema.Fields))
	for i, f := range schema.Fields {
		names[i] = f.Token
	}
	return flowlog.MustFormat(strings.Join(names, " "))
}

func (v *formatValue) String() string {
	if v.f == nil || *v.f == nil {
		return "v2"
	}
	switch {
	case (*v.f).Equal(flowlog.V2):
		return "v2"
	case (*v.f).Equal(flowlog.TGW):
		return "tgw"
	}
	return (*v.f).String()
}

func (v *formatValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "v2", "default":
		*v.f = flowlog.V2
		return nil
	case "tgw":
		*v.f = flowlog.TGW
		return nil
	case "all":
		*v.f = AllFields()
		return nil
	}
	f, err := flowlog.ParseFormat(s)
	if err != nil {
		return err
	}
	*v.f = f
	return nil
}

func (v *formatValue) Type() string { return "format" }

// switchList is a flag value that turns named switches on: "all",
// "none", or a comma list of names.
type switchList struct {
	what  string   // what a name names, for errors ("scenario")
	order []string // the names, in the order String lists them
	sw    map[string]*bool
}

// scenarioList switches the planted scenarios.
func scenarioList(s *Scenarios) *switchList {
	return &switchList{what: "scenario", order: scenarioOrder, sw: map[string]*bool{
		"portscan":   &s.PortScan.Enabled,
		"bruteforce": &s.SSHBruteForce.Enabled,
		"exfil":      &s.Exfiltration.Enabled,
		"ioc":        &s.IOC.Enabled,
	}}
}

var scenarioOrder = []string{"portscan", "bruteforce", "exfil", "ioc"}

// extraList switches the opt-in detection scenarios.
func extraList(x *Extra) *switchList {
	return &switchList{what: "detection scenario", order: extraOrder, sw: map[string]*bool{
		"sweep": &x.Sweep.Enabled, "bypass": &x.Bypass.Enabled, "dbegress": &x.DBEgress.Enabled,
		"skipdata": &x.SkipData.Enabled, "dns": &x.DNS.Enabled, "tunnel": &x.Tunnel.Enabled,
		"newdest": &x.NewDest.Enabled,
	}}
}

var extraOrder = []string{"sweep", "bypass", "dbegress", "skipdata", "dns", "tunnel", "newdest"}

func (v *switchList) String() string {
	if v == nil || v.sw == nil {
		return ""
	}
	var on []string
	for _, n := range v.order {
		if *v.sw[n] {
			on = append(on, n)
		}
	}
	switch len(on) {
	case 0:
		return "none"
	case len(v.order):
		return "all"
	}
	return strings.Join(on, ",")
}

func (v *switchList) Set(s string) error {
	for _, p := range v.sw {
		*p = false
	}
	for _, w := range strings.Split(s, ",") {
		w = strings.ToLower(strings.TrimSpace(w))
		switch w {
		case "", "none":
			continue
		case "all":
			for _, p := range v.sw {
				*p = true
			}
			continue
		}
		p, ok := v.sw[w]
		if !ok {
			return fmt.Errorf("unknown %s %q (want all, none or %s)", v.what, w, strings.Join(v.order, ","))
		}
		*p = true
	}
	return nil
}

func (v *switchList) Type() string { return "list" }
