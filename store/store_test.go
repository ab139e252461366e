package store_test

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
)

func TestPrefixRange(t *testing.T) {
	cases := []struct {
		name   string
		prefix string
		lo, hi string // hex
	}{
		{"ipv4 /8", "10.0.0.0/8", "00000000000000000000ffff0a000000", "00000000000000000000ffff0affffff"},
		{"ipv4 /32", "192.0.2.7/32", "00000000000000000000ffffc0000207", "00000000000000000000ffffc0000207"},
		{"ipv4 unmasked /20", "172.16.77.1/20", "00000000000000000000ffffac104000", "00000000000000000000ffffac104fff"},
		{"ipv4 /0", "0.0.0.0/0", "00000000000000000000ffff00000000", "00000000000000000000ffffffffffff"},
		{"ipv6 /32", "2001:db8::/32", "20010db8000000000000000000000000", "20010db8ffffffffffffffffffffffff"},
		{"ipv6 /127", "2001:db8::/127", "20010db8000000000000000000000000", "20010db8000000000000000000000001"},
		{"ipv6 /0", "::/0", "00000000000000000000000000000000", "ffffffffffffffffffffffffffffffff"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := store.PrefixRange(netip.MustParsePrefix(tc.prefix))
			got := []string{hex.EncodeToString(lo[:]), hex.EncodeToString(hi[:])}
			if d := cmp.Diff([]string{tc.lo, tc.hi}, got); d != "" {
				t.Errorf("range (-want +got):\n%s", d)
			}
		})
	}
	lo, hi := store.PrefixRange(netip.Prefix{})
	if string(lo[:]) <= string(hi[:]) {
		t.Errorf("invalid prefix gives a non-empty range %x..%x", lo, hi)
	}
}

func TestIPKeyOrder(t *testing.T) {
	// Byte order of the keys is address order, IPv4 before IPv6 in ::ffff:0:0/96.
	addrs := []string{"::", "::1", "0.0.0.0", "9.255.255.255", "10.0.0.0", "255.255.255.255", "2001:db8::", "fe80::1"}
	for i := 1; i < len(addrs); i++ {
		a, b := store.IPKey(netip.MustParseAddr(addrs[i-1])), store.IPKey(netip.MustParseAddr(addrs[i]))
		if string(a[:]) >= string(b[:]) {
			t.Errorf("key(%s) >= key(%s)", addrs[i-1], addrs[i])
		}
	}
}

func TestColumns(t *testing.T) {
	cols := store.Columns()
	seen := map[string]bool{}
	fields := map[int]bool{}
	var bins []string
	for _, c := range cols {
		if seen[c.Name] {
			t.Errorf("column %s twice", c.Name)
		}
		seen[c.Name] = true
		if c.Field >= 0 {
			fields[c.Field] = true
			if f := schema.Col(c.Field); c.Name != f.Column || c.Kind != store.KindOf(f.Type) {
				t.Errorf("column %s (kind %d) holds field %s of type %s", c.Name, c.Kind, f.Column, f.Type)
			}
		}
		if c.Kind == store.KindIPBin {
			bins = append(bins, c.Name+"<-"+c.Of)
		}
		if c.Description == "" {
			t.Errorf("column %s has no description", c.Name)
		}
	}
	if len(fields) != schema.NumColumns {
		t.Errorf("%d catalog and derived fields have a column, want %d", len(fields), schema.NumColumns)
	}
	wantBins := []string{"srcaddr_bin<-srcaddr", "dstaddr_bin<-dstaddr", "pkt_srcaddr_bin<-pkt_srcaddr", "pkt_dstaddr_bin<-pkt_dstaddr"}
	if d := cmp.Diff(wantBins, bins); d != "" {
		t.Errorf("binary IP columns (-want +got):\n%s", d)
	}
	for _, name := range []string{store.ColSource, store.ColIngestedAt, "src_internal", "dst_asn", "src_entity_name", "dst_threat"} {
		if !seen[name] {
			t.Errorf("no column %s", name)
		}
	}
}

func TestSameVersion(t *testing.T) {
	base := store.Object{ID: "/a", Size: 10, MTime: time.Unix(100, 5), ETag: "e", Hash: "h"}
	cases := []struct {
		name string
		mod  func(*store.Object)
		want bool
	}{
		{"identical", func(*store.Object) {}, true},
		{"same instant, other zone", func(o *store.Object) { o.MTime = o.MTime.In(time.FixedZone("x", 3600)) }, true},
		{"size", func(o *store.Object) { o.Size++ }, false},
		{"mtime", func(o *store.Object) { o.MTime = o.MTime.Add(time.Nanosecond) }, false},
		{"etag", func(o *store.Object) { o.ETag = "f" }, false},
		{"hash", func(o *store.Object) { o.Hash = "" }, false},
		{"id", func(o *store.Object) { o.ID = "/b" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.mod(&o)
			if got := base.SameVersion(o); got != tc.want {
				t.Errorf("SameVersion = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLockedError(t *testing.T) {
	cases := []struct {
		name string
		err  *store.LockedError
		want string
	}{
		{"writer", &store.LockedError{PID: 42, Path: "/d/flowlens.duckdb"}, "store is locked by PID 42 (/d/flowlens.duckdb)"},
		{"readers", &store.LockedError{Path: "/d/x", ReadOnly: true}, "store is in use by a read-only process (/d/x)"},
		{"unknown", &store.LockedError{Path: "/d/x"}, "store is locked by another process (/d/x)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
			if !errors.Is(tc.err, store.ErrLocked) {
				t.Error("not errors.Is ErrLocked")
			}
		})
	}
}
