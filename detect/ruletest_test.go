package detect

import (
	"context"
	"testing"
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
