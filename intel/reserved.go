package intel

import "net/netip"

// reserved are the special-purpose blocks (RFC 6890 and friends) that
// bogon lists such as FireHOL level 1 carry whole. Matching flows against
// them flags every internal conversation.
var reserved = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// CoversReserved reports whether p contains a whole special-purpose block
// (private, loopback, link-local, CGNAT, multicast...), as the bogon
// entries of some feeds do. A single internal address does not.
func CoversReserved(p netip.Prefix) bool {
	for _, r := range reserved {
		if r.Addr().Is4() == p.Addr().Is4() && p.Bits() <= r.Bits() && p.Contains(r.Addr()) {
			return true
		}
	}
	return false
}
