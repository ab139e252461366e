package gen

import "testing"

func TestAZPrefix(t *testing.T) {
	tests := []struct{ region, want string }{
		{"us-east-1", "use1"},
		{"us-west-2", "usw2"},
		{"eu-central-1", "euc1"},
		{"ap-southeast-2", "apse2"},
		{"ap-northeast-1", "apne1"},
		{"ca-central-1", "cac1"},
		{"il-central-1", "ilc1"},
		{"us-gov-west-1", "usgw1"},
		{"bogus", "use1"},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			if got := azPrefix(tt.region); got != tt.want {
				t.Errorf("azPrefix(%q) = %q, want %q", tt.region, got, tt.want)
			}
		})
	}
}
