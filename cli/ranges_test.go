package cli_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRangesUpdate(t *testing.T) {
	doc := `{"syncToken":"42","createDate":"2024-11-22-18-33-10","prefixes":[
{"ip_prefix":"52.216.0.0/15","region":"us-east-1","service":"S3","network_border_group":"us-east-1"},
{"ip_prefix":"52.216.0.0/15","region":"us-east-1","service":"AMAZON","network_border_group":"us-east-1"}],
"ipv6_prefixes":[{"ipv6_prefix":"2600:1f18::/33","region":"us-east-1","service":"EC2","network_border_group":"us-east-1"}]}`
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(doc))
	}))
	defer srv.Close()
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	out := must(t, "ranges", "update", "--url", srv.URL+"/ip-ranges.json")
	path := filepath.Join(cache, "flowlens", "ip-ranges.json")
	if !strings.HasPrefix(out, path+": 3 prefixes, 3 services, sync token 42") {
		t.Fatalf("update said %q", out)
	}
	if data, _ := os.ReadFile(path); string(data) != doc {
		t.Fatal("saved file differs")
	}
	// The audits and 'ranges services' read the saved copy by default.
	if d := cmp.Diff("service\nAMAZON\nEC2\nS3\n", must(t, "ranges", "services", "-o", "csv")); d != "" {
		t.Errorf("services (-want +got):\n%s", d)
	}
	// A failing download keeps the saved copy and exits 1.
	if _, _, code := flowlens(t, "ranges", "update", "--url", srv.URL+"/x", "--file", filepath.Join(cache, "other", "r.json"), "--timeout", "1ns"); code != 1 {
		t.Errorf("timed-out update: exit %d, want 1", code)
	}
	// Credentials in the URL show in no error.
	closed := httptest.NewServer(http.NotFoundHandler())
	dead := closed.URL
	closed.Close()
	secretURL := strings.Replace(dead, "http://", "http://user:PWSECRET@", 1) + "/ip-ranges.json?token=SECRET"
	_, errs, code := flowlens(t, "ranges", "update", "--url", secretURL, "--file", filepath.Join(cache, "other", "r.json"))
	if code != 1 || strings.Contains(errs, "SECRET") || !strings.Contains(errs, "http://…@"+strings.TrimPrefix(dead, "http://")+"/ip-ranges.json?…") {
		t.Errorf("unreachable update with credentials in the URL: exit %d (want 1), stderr %q (want the URL redacted)", code, errs)
	}
}

func TestInventoryImportShow(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inv.json")
	src := filepath.Join("..", "inventory", "testdata")
	must(t, "inventory", "import", "--inventory", inv, filepath.Join(src, "describe-network-interfaces.json"))
	out := must(t, "inventory", "import", "--inventory", inv, filepath.Join(src, "describe-nat-gateways.json"), filepath.Join(src, "describe-instances.json"))
	if !strings.Contains(out, "21 network interfaces, 2 NAT gateways, 0 VPCs, 0 subnets, 2 instances") {
		t.Fatalf("second import merged into %q", out)
	}
	rows := decodeJSON(t, must(t, "inventory", "show", "--inventory", inv, "-o", "json"))
	got := map[string]string{}
	for _, r := range rows {
		got[r["address"].(string)] = r["entity_type"].(string) + " " + r["entity_id"].(string)
	}
	for addr, want := range map[string]string{
		"10.0.16.10":   "ec2 i-0123456789abcdef0",
		"3.210.55.66":  "nat_gateway nat-0f1e2d3c4b5a69788",
		"10.0.0.20":    "alb app/web-alb/50dc6c495c0c9188",
		"10.0.200.15":  "rds eni-0a00000000000e008",
		"10.0.17.30":   "lambda order-processor",
		"10.0.0.250":   "tgw_attachment tgw-attach-0aa11bb22cc33dd44",
		"10.0.200.60":  "efs fs-0e1d2c3b4a5968778",
		"10.0.17.50":   "ecs_task 1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
		"10.0.17.40":   "vpc_endpoint vpce-0123abcd4567ef890",
		"10.0.17.120":  "eni eni-0a00000000000e020",
		"34.193.1.2":   "alb app/web-alb/50dc6c495c0c9188",
		"10.0.200.110": "directory_service d-9067012345",
	} {
		if got[addr] != want {
			t.Errorf("%s: %q, want %q", addr, got[addr], want)
		}
	}
	if _, _, code := flowlens(t, "inventory", "import", "--inventory", inv, filepath.Join(dir, "missing.json")); code != 1 {
		t.Errorf("missing file: exit %d", code)
	}
}
