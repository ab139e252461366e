package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/awsconf/awsconftest"
	"github.com/flowlens/flowlens/cli"
	"github.com/flowlens/flowlens/inventory/awsapi/ec2test"
)

// euWest is a second region's estate, as 'aws ec2 describe-*' prints it.
const euWest = `{"Vpcs":[{"VpcId":"vpc-0e0e0e0e0e0e0e0e0","CidrBlock":"10.9.0.0/16","Tags":[{"Key":"Name","Value":"eu"}]}],
"NetworkInterfaces":[{"NetworkInterfaceId":"eni-0e0e0e0e0e0e0e0e0","InterfaceType":"interface","Description":"",
"VpcId":"vpc-0e0e0e0e0e0e0e0e0","SubnetId":"subnet-0e0e0e0e0e0e0e0e0","PrivateIpAddress":"10.9.1.5",
"PrivateIpAddresses":[{"PrivateIpAddress":"10.9.1.5","Primary":true,"Association":{"PublicIp":"203.0.113.50"}}],
"Attachment":{"InstanceId":"i-0e0e0e0e0e0e0e0e0"}}],
"Reservations":[{"ReservationId":"r-0e0e0e0e0e0e0e0e0","Instances":[{"InstanceId":"i-0e0e0e0e0e0e0e0e0","PrivateIpAddress":"10.9.1.5",
"Tags":[{"Key":"Name","Value":"eu-web"}]}]}]}`

// awsEnv gives the SDK static credentials and no shared config or IMDS.
func awsEnv(t *testing.T) {
	awsconftest.Isolate(t, "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_EC2", "")
}

func TestInventorySync(t *testing.T) {
	awsEnv(t)
	dir := t.TempDir()
	samples := filepath.Join("..", "inventory", "testdata")
	var files [][]byte
	var paths []string
	for _, n := range []string{"network-interfaces", "nat-gateways", "vpcs", "subnets", "instances"} {
		p := filepath.Join(samples, "describe-"+n+".json")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files, paths = append(files, b), append(paths, p)
	}
	euPath := filepath.Join(dir, "eu.json")
	if err := os.WriteFile(euPath, []byte(euWest), 0o644); err != nil {
		t.Fatal(err)
	}
	us, err := ec2test.EstateFromJSON(files...)
	if err != nil {
		t.Fatal(err)
	}
	eu, err := ec2test.EstateFromJSON([]byte(euWest))
	if err != nil {
		t.Fatal(err)
	}
	srv := ec2test.Start(t)
	srv.Seed("us-east-1", us)
	srv.Seed("eu-west-1", eu)

	// The same estate imported from the describe-* files.
	imported := filepath.Join(dir, "imported.json")
	must(t, append([]string{"inventory", "import", "--inventory", imported}, append(paths, euPath)...)...)
	wantShow := must(t, "inventory", "show", "--inventory", imported, "-o", "json")

	synced := filepath.Join(dir, "synced.json")
	out := must(t, "inventory", "sync", "--regions", "us-east-1,eu-west-1", "--endpoint-url", srv.URL, "--file", synced)
	want := "us-east-1: 21 network interfaces, 2 NAT gateways, 2 VPCs, 3 subnets, 2 instances\n" +
		"eu-west-1: 1 network interfaces, 0 NAT gateways, 1 VPCs, 0 subnets, 1 instances\n" +
		synced + ": 22 network interfaces, 2 NAT gateways, 3 VPCs, 3 subnets, 3 instances\n"
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("sync output (-want +got):\n%s", d)
	}
	gotShow := must(t, "inventory", "show", "--inventory", synced, "-o", "json")
	if d := cmp.Diff(decodeJSON(t, wantShow), decodeJSON(t, gotShow)); d != "" {
		t.Errorf("show after sync (-import +sync):\n%s", d)
	}
	if rows := decodeJSON(t, gotShow); len(rows) < 20 {
		t.Fatalf("only %d rows shown", len(rows))
	}
	if !strings.Contains(gotShow, `"entity_name": "eu-web"`) && !strings.Contains(gotShow, `"entity_name":"eu-web"`) {
		t.Errorf("the eu-west-1 instance's name is not shown:\n%.2000s", gotShow)
	}

	// Merge keeps what the file had; --replace keeps only what was read.
	// The endpoint comes from AWS_ENDPOINT_URL_EC2 this time.
	t.Setenv("AWS_ENDPOINT_URL_EC2", srv.URL)
	out = must(t, "inventory", "sync", "--region", "eu-west-1", "--inventory", synced)
	if !strings.HasSuffix(out, synced+": 22 network interfaces, 2 NAT gateways, 3 VPCs, 3 subnets, 3 instances\n") {
		t.Errorf("merge: %s", out)
	}
	out = must(t, "inventory", "sync", "--region", "eu-west-1", "--inventory", synced, "--replace")
	if !strings.HasSuffix(out, synced+": 1 network interfaces, 0 NAT gateways, 1 VPCs, 0 subnets, 1 instances\n") {
		t.Errorf("replace: %s", out)
	}
	for _, r := range srv.Requests() {
		if r.Region != "us-east-1" && r.Region != "eu-west-1" {
			t.Errorf("request for region %q", r.Region)
		}
	}

	// A failed sync leaves the file alone.
	before, _ := os.ReadFile(synced)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, errs, code := flowlens(t, "inventory", "sync", "--inventory", synced, "--replace"); code != cli.ExitError || !strings.Contains(errs, "ec2 us-east-1") {
		t.Errorf("sync without credentials: exit %d, %s", code, errs)
	}
	if after, _ := os.ReadFile(synced); string(after) != string(before) {
		t.Error("a failed sync changed the inventory file")
	}
}

func TestInventorySyncUsage(t *testing.T) {
	awsEnv(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"external id alone", []string{"--external-id", "x"}, "external id needs a role ARN"},
		{"bad region", []string{"--regions", "us-east-1,nowhere"}, `"nowhere" is not a region name`},
		{"two files", []string{"--file", "a.json", "--inventory", "b.json"}, "name different files"},
		{"arguments", []string{"extra"}, "takes no arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := flowlens(t, append([]string{"inventory", "sync"}, tc.args...)...)
			if code != cli.ExitUsage || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, %q; want %d and %q", code, errs, cli.ExitUsage, tc.want)
			}
		})
	}
}

func TestInventoryImportFromFile(t *testing.T) {
	dir := t.TempDir()
	samples := filepath.Join("..", "inventory", "testdata")
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	enis, nats := filepath.Join(samples, "describe-network-interfaces.json"), filepath.Join(samples, "describe-nat-gateways.json")
	outA := must(t, "inventory", "import", "--inventory", a, enis, nats)
	outB := must(t, "inventory", "import", "--inventory", b, "--from-file", enis, "--from-file", nats)
	if strings.ReplaceAll(outA, a, "X") != strings.ReplaceAll(outB, b, "X") {
		t.Errorf("--from-file:\n%s\nvs arguments:\n%s", outB, outA)
	}
	if d := cmp.Diff(must(t, "inventory", "show", "--inventory", a, "-o", "csv"), must(t, "inventory", "show", "--inventory", b, "-o", "csv")); d != "" {
		t.Errorf("(-arguments +--from-file):\n%s", d)
	}
	if _, errs, code := flowlens(t, "inventory", "import", "--inventory", a); code != cli.ExitUsage || !strings.Contains(errs, "at least one FILE") {
		t.Errorf("import without files: exit %d, %s", code, errs)
	}
}
