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
	fs.Var(&scenarioValue{&c.Scenarios}, "scenarios", "planted scenarios: all, none, or a comma list of portscan,bruteforce,exfil,ioc")
	fs.Var(&extraValue{&c.Extra}, "detection-scenarios", "opt-in scenarios for the detection rules: all, none, or a comma list of "+strings.Join(extraOrder, ","))
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

type scenarioValue struct{ s *Scenarios }

// switches maps flag words to the Enabled switch of each scenario.
func (v *scenarioValue) switches() map[string]*bool {
	return map[string]*bool{
		"portscan":   &v.s.PortScan.Enabled,
		"bruteforce": &v.s.SSHBruteForce.Enabled,
		"exfil":      &v.s.Exfiltration.Enabled,
		"ioc":        &v.s.IOC.Enabled,
	}
}

// extraValue switches the opt-in detection scenarios.
type extraValue struct{ x *Extra }

var extraOrder = []string{"sweep", "bypass", "dbegress", "skipdata", "dns", "tunnel", "newdest"}

func (v *extraValue) switches() map[string]*bool {
	return map[string]*bool{
		"sweep": &v.x.Sweep.Enabled, "bypass": &v.x.Bypass.Enabled, "dbegress": &v.x.DBEgress.Enabled,
		"skipdata": &v.x.SkipData.Enabled, "dns": &v.x.DNS.Enabled, "tunnel": &v.x.Tunnel.Enabled,
		"newdest": &v.x.NewDest.Enabled,
	}
}

func (v *extraValue) String() string {
	if v.x == nil {
		return ""
	}
	sw := v.switches()
	var on []string
	for _, n := range extraOrder {
		if *sw[n] {
			on = append(on, n)
		}
	}
	if len(on) == len(extraOrder) {
		return "all"
	}
	return strings.Join(on, ",")
}

func (v *extraValue) Set(s string) error {
	sw := v.switches()
	for _, p := range sw {
		*p = false
	}
	for _, w := range strings.Split(s, ",") {
		w = strings.ToLower(strings.TrimSpace(w))
		switch w {
		case "", "none":
			continue
		case "all":
			for _, p := range sw {
				*p = true
			}
			continue
		}
		p, ok := sw[w]
		if !ok {
			return fmt.Errorf("unknown detection scenario %q (want all, none or %s)", w, strings.Join(extraOrder, ","))
		}
		*p = true
	}
	return nil
}

func (v *extraValue) Type() string { return "list" }

var scenarioOrder = []string{"portscan", "bruteforce", "exfil", "ioc"}

func (v *scenarioValue) String() string {
	if v.s == nil {
		return ""
	}
	sw := v.switches()
	var on []string
	for _, n := range scenarioOrder {
		if *sw[n] {
			on = append(on, n)
		}
	}
	switch len(on) {
	case 0:
		return "none"
	case len(scenarioOrder):
		return "all"
	}
	return strings.Join(on, ",")
}

func (v *scenarioValue) Set(s string) error {
	sw := v.switches()
	for _, p := range sw {
		*p = false
	}
	for _, w := range strings.Split(s, ",") {
		w = strings.ToLower(strings.TrimSpace(w))
		switch w {
		case "", "none":
			continue
		case "all":
			for _, p := range sw {
				*p = true
			}
			continue
		}
		p, ok := sw[w]
		if !ok {
			return fmt.Errorf("unknown scenario %q (want all, none or %s)", w, strings.Join(scenarioOrder, ","))
		}
		*p = true
	}
	return nil
}

func (v *scenarioValue) Type() string { return "list" }
