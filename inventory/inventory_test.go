package inventory

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func samples() []string {
	var out []string
	for _, n := range []string{"network-interfaces", "nat-gateways", "vpcs", "subnets", "instances"} {
		out = append(out, filepath.Join("testdata", "describe-"+n+".json"))
	}
	return out
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

// TestEntitiesGolden derives the entity of every sample ENI: one of each
// type AWS services create.
func TestEntitiesGolden(t *testing.T) {
	inv, err := LoadFiles(samples()...)
	if err != nil {
		t.Fatal(err)
	}
	idx := inv.NewIndex()
	type row struct {
		Addr   string `json:"addr"`
		Entity Entity `json:"entity"`
	}
	var rows []row
	types := map[EntityType]bool{}
	for _, e := range inv.ENIs {
		for _, a := range append(append(append([]netip.Addr(nil), e.PrivateIPs...), e.PublicIPs...), e.IPv6...) {
			ent, ok := idx.Lookup(a)
			if !ok {
				t.Errorf("%s of %s not indexed", a, e.ID)
			}
			rows = append(rows, row{a.String(), ent})
			types[ent.Type] = true
		}
	}
	for _, want := range []EntityType{EC2Instance, NATGatewayType, ALB, NLB, ELB, GWLB, GWLBEndpoint, RDS, Lambda, VPCEndpoint,
		ECSTask, TGWAttachment, EFS, EKS, ElastiCache, Redshift, APIGateway, GlobalAccelerator, Directory, Interface} {
		if !types[want] {
			t.Errorf("no sample ENI gives entity type %s", want)
		}
	}
	data, _ := json.MarshalIndent(rows, "", "  ")
	golden(t, "entities.golden.json", append(data, '\n'))
}

func TestDerived(t *testing.T) {
	inv, err := LoadFiles(samples()...)
	if err != nil {
		t.Fatal(err)
	}
	strs := func(xs []netip.Addr) (out []string) {
		for _, x := range xs {
			out = append(out, x.String())
		}
		return out
	}
	var nets []string
	for _, p := range inv.OwnNetworks() {
		nets = append(nets, p.String())
	}
	got := map[string][]string{"nets": nets, "public": strs(inv.OwnPublicIPs()), "nat": strs(inv.NATPrivateIPs())}
	want := map[string][]string{
		"nets":   {"10.0.0.0/16", "10.0.0.0/24", "10.0.16.0/20", "10.0.200.0/24", "10.1.0.0/16", "100.64.0.0/16", "2600:1f18:1234:5600::/56", "2600:1f18:1234:5610::/64"},
		"public": {"3.210.55.66", "3.210.55.67", "34.193.1.2", "54.210.10.20"},
		"nat":    {"10.0.0.77", "10.1.0.77"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// A NAT gateway without an ENI in the list is still indexed.
	if e, ok := inv.NewIndex().Lookup(netip.MustParseAddr("10.1.0.77")); !ok || e.Type != NATGatewayType || e.ID != "nat-0b1e2d3c4b5a69788" {
		t.Errorf("second NAT gateway: %+v %v", e, ok)
	}
	// The instance's name comes from describe-instances.
	if e, _ := inv.NewIndex().Lookup(netip.MustParseAddr("54.210.10.20")); e.Name != "web-1" || e.ID != "i-0123456789abcdef0" {
		t.Errorf("instance entity %+v", e)
	}
}

func TestSaveRoundTrip(t *testing.T) {
	inv, err := LoadFiles(samples()...)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "inv.json")
	if err := inv.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(inv, back, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	// Merging a saved inventory with a newer describe output replaces by ID.
	newer := []byte(`{"NetworkInterfaces":[{"NetworkInterfaceId":"eni-0a00000000000e020","InterfaceType":"interface","Description":"renamed","PrivateIpAddress":"10.0.17.121"}]}`)
	np := filepath.Join(t.TempDir(), "newer.json")
	os.WriteFile(np, newer, 0o644)
	merged, err := LoadFiles(path, np)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.ENIs) != len(inv.ENIs) {
		t.Fatalf("merge changed the ENI count: %d vs %d", len(merged.ENIs), len(inv.ENIs))
	}
	if _, ok := merged.NewIndex().Lookup(netip.MustParseAddr("10.0.17.120")); ok {
		t.Error("the replaced ENI's old address is still indexed")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"not json", "[1,2]", "not a JSON object"},
		{"unknown document", `{"Buckets":[]}`, "not the output of"},
		{"bad address", `{"NetworkInterfaces":[{"NetworkInterfaceId":"eni-1","PrivateIpAddress":"10.0.0.999"}]}`, "network interface eni-1"},
		{"bad cidr", `{"Vpcs":[{"VpcId":"vpc-1","CidrBlock":"10.0.0.0/33"}]}`, "VPC vpc-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func BenchmarkIndexLookup(b *testing.B) {
	inv, err := LoadFiles(samples()...)
	if err != nil {
		b.Fatal(err)
	}
	idx := inv.NewIndex()
	addrs := []netip.Addr{netip.MustParseAddr("10.0.16.10"), netip.MustParseAddr("8.8.8.8")}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if _, ok := idx.Lookup(addrs[i&1]); ok {
			n++
		}
	}
	_ = n
}
