package geo

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeDB builds a small .mmdb file with mmdbwriter.
func writeDB(t testing.TB, dbType string, nets map[string]mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range nets {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), dbType+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDBs builds a country/city database and an ASN database in the
// GeoLite2 layout and an ipinfo-lite style one.
func TestDBs(t *testing.T) {
	city := writeDB(t, "GeoLite2-City", map[string]mmdbtype.Map{
		"81.2.69.0/24": {
			"country": mmdbtype.Map{"iso_code": mmdbtype.String("GB")},
			"city":    mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("London"), "de": mmdbtype.String("London")}},
		},
		"2001:218::/32": {"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("JP")}},
	})
	asn := writeDB(t, "GeoLite2-ASN", map[string]mmdbtype.Map{
		"81.2.0.0/16": {"autonomous_system_number": mmdbtype.Uint32(20712), "autonomous_system_organization": mmdbtype.String("Andrews & Arnold Ltd")},
	})
	ipinfo := writeDB(t, "ipinfo-lite", map[string]mmdbtype.Map{
		"8.8.8.0/24": {"asn": mmdbtype.String("AS15169"), "as_name": mmdbtype.String("Google LLC"), "country_code": mmdbtype.String("us")},
	})
	d, err := Open(city, asn, ipinfo)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tests := []struct {
		addr string
		want Info
	}{
		{"81.2.69.160", Info{Country: "GB", City: "London", ASN: 20712, ASOrg: "Andrews & Arnold Ltd"}},
		{"81.2.1.1", Info{ASN: 20712, ASOrg: "Andrews & Arnold Ltd"}},
		{"::ffff:81.2.69.1", Info{Country: "GB", City: "London", ASN: 20712, ASOrg: "Andrews & Arnold Ltd"}},
		{"2001:218::1", Info{Country: "JP"}},
		{"8.8.8.8", Info{Country: "US", ASN: 15169, ASOrg: "Google LLC"}},
		{"1.1.1.1", Info{}},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			for range 2 { // the second time from the cache
				got, err := d.LookupErr(netip.MustParseAddr(tc.addr))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("a missing database opened")
	}
}

func BenchmarkLookup(b *testing.B) {
	nets := map[string]mmdbtype.Map{}
	for i := 0; i < 2000; i++ {
		nets[netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + i%200), byte(i / 200 * 16), 0, 0}), 12).Masked().String()] = mmdbtype.Map{
			"country": mmdbtype.Map{"iso_code": mmdbtype.String("DE")}, "autonomous_system_number": mmdbtype.Uint32(uint32(i)),
		}
	}
	d, err := Open(writeDB(b, "bench", nets))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{byte(1 + i%200), byte(i * 7), byte(i), 1})
	}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if d.Lookup(addrs[i&1023]).ASN != 0 {
			n++
		}
	}
	_ = n
}
