package gen_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
	"github.com/spf13/pflag"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    func(*gen.Config)
		wantErr string
	}{
		{"no flags keep the defaults", nil, func(*gen.Config) {}, ""},
		{"counts and times", []string{"--seed", "9", "--records", "1234", "--start", "2024-05-01", "--duration", "2h", "--window", "10m"},
			func(c *gen.Config) {
				c.Seed, c.Records, c.Duration, c.Window = 9, 1234, 2*time.Hour, 10*time.Minute
				c.Start = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
			}, ""},
		{"rfc3339 start", []string{"--start", "2024-05-01T10:30:00+02:00"},
			func(c *gen.Config) { c.Start = time.Date(2024, 5, 1, 8, 30, 0, 0, time.UTC) }, ""},
		{"tgw format", []string{"--format", "tgw"}, func(c *gen.Config) { c.Format = flowlog.TGW }, ""},
		{"all format", []string{"--format", "all"}, func(c *gen.Config) { c.Format = gen.AllFields() }, ""},
		{"custom format", []string{"--format", "${srcaddr} ${dstaddr} ${bytes}"},
			func(c *gen.Config) { c.Format = flowlog.MustFormat("srcaddr dstaddr bytes") }, ""},
		{"estate", []string{"--accounts", "2", "--vpcs", "3", "--instances", "20", "--azs", "2", "--region", "eu-west-1", "--ipv6-share", "0.5"},
			func(c *gen.Config) {
				c.Accounts, c.VPCsPerAccount, c.Instances, c.AZs, c.Region, c.IPv6Share = 2, 3, 20, 2, "eu-west-1", 0.5
			}, ""},
		{"some scenarios", []string{"--scenarios", "portscan,ioc", "--scan-ports", "200"},
			func(c *gen.Config) {
				c.Scenarios.SSHBruteForce.Enabled, c.Scenarios.Exfiltration.Enabled = false, false
				c.Scenarios.PortScan.Ports = 200
			}, ""},
		{"no scenarios", []string{"--scenarios", "none"},
			func(c *gen.Config) {
				c.Scenarios.PortScan.Enabled, c.Scenarios.SSHBruteForce.Enabled = false, false
				c.Scenarios.Exfiltration.Enabled, c.Scenarios.IOC.Enabled = false, false
			}, ""},
		{"output switches", []string{"--header", "--gzip"}, func(c *gen.Config) { c.Header, c.Gzip = true, true }, ""},
		{"unknown scenario", []string{"--scenarios", "ddos"}, nil, "unknown scenario"},
		{"bad format", []string{"--format", "${nope}"}, nil, "unknown field"},
		{"bad start", []string{"--start", "yesterday"}, nil, "start"},
	}
	formatEq := cmp.Comparer(func(a, b *flowlog.Format) bool { return a.Equal(b) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := gen.DefaultConfig()
			fs := pflag.NewFlagSet("gen", pflag.ContinueOnError)
			fs.SetOutput(io.Discard)
			cfg.AddFlags(fs)
			err := fs.Parse(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse = %v, want an error about %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := gen.DefaultConfig()
			tt.want(&want)
			if diff := cmp.Diff(want, cfg, formatEq); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	o := gen.Output{
		Path:      filepath.Join(dir, "flows.log.gz"),
		IOCFile:   filepath.Join(dir, "ioc.csv"),
		TruthFile: filepath.Join(dir, "truth.json"),
	}
	fs := pflag.NewFlagSet("gen", pflag.ContinueOnError)
	o2 := gen.Output{}
	o2.AddFlags(fs)
	if err := fs.Parse([]string{"--out", o.Path, "--ioc-out", o.IOCFile, "--truth-out", o.TruthFile}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(o, o2); diff != "" {
		t.Fatalf("output flags (-want +got):\n%s", diff)
	}
	tr, files, err := gen.Run(small(8000), o2, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{o.Path}, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	raw, err := os.ReadFile(o.Path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("a .gz name must give gzip output: %v", err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := parse(t, text, flowlog.V2); b.N != 8000 {
		t.Errorf("%d records, want 8000", b.N)
	}
	js, err := os.ReadFile(o.TruthFile)
	if err != nil {
		t.Fatal(err)
	}
	var back gen.Truth
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tr, &back, cmpOpts...); diff != "" {
		t.Errorf("truth manifest does not round-trip (-returned +file):\n%s", diff)
	}
	csv, err := os.ReadFile(o.IOCFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(csv), "\n"); n != len(tr.IOC)+1 {
		t.Errorf("ioc csv has %d lines, want %d", n, len(tr.IOC)+1)
	}

	var out bytes.Buffer
	if _, _, err := gen.Run(small(3000), gen.Output{}, &out); err != nil || strings.Count(out.String(), "\n") != 3000 {
		t.Errorf("stdout run: %v, %d lines", err, strings.Count(out.String(), "\n"))
	}
	if _, _, err := gen.Run(small(3000), gen.Output{Path: o.Path, TreeDir: dir}, io.Discard); err == nil {
		t.Error("--out with --tree should fail")
	}
}
