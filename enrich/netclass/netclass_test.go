package netclass

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClassify(t *testing.T) {
	p := netip.MustParsePrefix
	cfg := Config{
		OwnNetworks: []netip.Prefix{p("10.20.0.0/16"), p("198.19.0.0/16"), p("52.0.0.0/24")},
		OwnPublic:   []netip.Prefix{p("52.0.0.7/32"), p("54.1.2.3/32")},
	}
	tests := []struct {
		name string
		cfg  Config
		addr string
		want Class
	}{
		{"public", cfg, "8.8.8.8", Public},
		{"rfc1918 10", cfg, "10.1.2.3", Private},
		{"rfc1918 172", cfg, "172.31.255.255", Private},
		{"just outside 172.16/12", cfg, "172.32.0.0", Public},
		{"rfc1918 192.168", cfg, "192.168.1.1", Private},
		{"rfc6598", cfg, "100.100.0.1", Shared},
		{"loopback", cfg, "127.0.0.1", Loopback},
		{"metadata service", cfg, "169.254.169.254", LinkLocal},
		{"multicast", cfg, "239.1.1.1", Multicast},
		{"v6 loopback", cfg, "::1", Loopback},
		{"v6 ula", cfg, "fd12:3456::1", ULA},
		{"v6 link-local", cfg, "fe80::1", LinkLocal},
		{"v6 public", cfg, "2600:1f18::1", Public},
		{"own vpc inside private", cfg, "10.20.5.5", OwnNetwork},
		{"own net inside reserved", cfg, "198.19.0.1", OwnNetwork},
		{"own public block", cfg, "52.0.0.9", OwnNetwork},
		{"own public ip inside own net", cfg, "52.0.0.7", OwnPublic},
		{"own public ip", cfg, "54.1.2.3", OwnPublic},
		{"mapped form", cfg, "::ffff:10.20.0.1", OwnNetwork},
		{"documentation reserved", cfg, "203.0.113.7", Reserved},
		{"documentation as public", Config{DocumentationPublic: true}, "203.0.113.7", Public},
		{"invalid", cfg, "", Reserved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a netip.Addr
			if tc.addr != "" {
				a = netip.MustParseAddr(tc.addr)
			}
			got := New(tc.cfg).Classify(a)
			if d := cmp.Diff(tc.want.String(), got.String()); d != "" {
				t.Errorf("Classify(%s) (-want +got):\n%s", tc.addr, d)
			}
			if got.Internal() != (tc.want != Public) {
				t.Errorf("Internal = %v", got.Internal())
			}
		})
	}
}

func BenchmarkClassify(b *testing.B) {
	c := New(Config{OwnNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}})
	addrs := []netip.Addr{netip.MustParseAddr("10.0.3.4"), netip.MustParseAddr("52.94.1.2"), netip.MustParseAddr("192.168.4.4"), netip.MustParseAddr("2600:1f18::1")}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if c.Internal(addrs[i&3]) {
			n++
		}
	}
	_ = n
}
