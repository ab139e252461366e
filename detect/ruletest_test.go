package detect

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestShippedRuleTests runs every test file in rules/tests against the
// shipped rules.
func TestShippedRuleTests(t *testing.T) {
	res, err := RunShippedTests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 {
		t.Fatal("no rule tests ran")
	}
	for _, r := range res {
		t.Run(r.File+"/"+r.Name, func(t *testing.T) {
			if r.Err != nil {
				t.Error(r.Err)
			}
		})
	}
}

// TestRuleTestFailure checks that a failing rule test reports a line diff
// of the expected and raised alerts.
func TestRuleTestFailure(t *testing.T) {
	rule, err := shipped.ReadFile("rules/portscan-vertical.yaml")
	if err != nil {
		t.Fatal(err)
	}
	test := []byte(`rule_files: [r.yaml]
tests:
  - name: wrong value and a missing alert
    records:
      - {srcaddr: 45.33.10.7, dstaddr: 10.0.1.5, dstport: 1, action: REJECT, repeat: 30, vary: {dstport: 1}}
    expect:
      - {rule: portscan-vertical, key: {srcaddr: 45.33.10.7, dstaddr: 10.0.1.5}, value: 31}
      - {rule: portscan-vertical, key: {srcaddr: 45.33.10.8, dstaddr: 10.0.1.5}, window_start: 2024-03-11T00:00:00Z}
`)
	res, err := RunTests(context.Background(), "t.yaml", test, func(string) ([]byte, string, error) { return rule, "r.yaml", nil })
	if err != nil {
		t.Fatal(err)
	}
	want := `alerts differ (-want +got):
+ portscan-vertical {srcaddr=45.33.10.7 dstaddr=10.0.1.5} window_start=2024-03-11T00:00:00Z value=30 flows=30
- portscan-vertical {srcaddr=45.33.10.7 dstaddr=10.0.1.5} window_start=2024-03-11T00:00:00Z value=31 flows=30
- portscan-vertical {srcaddr=45.33.10.8 dstaddr=10.0.1.5} window_start=2024-03-11T00:00:00Z value=0 flows=0`
	if len(res) != 1 || res[0].Err == nil {
		t.Fatalf("results %+v, want one failure", res)
	}
	if d := cmp.Diff(want, res[0].Err.Error()); d != "" {
		t.Errorf("failure (-want +got):\n%s", d)
	}
}
