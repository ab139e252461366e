// Package netclass classifies addresses by network: private and special
// ranges (RFC 1918, RFC 6598 shared address space, loopback, link-local,
// IPv6 unique local, multicast...) and the organisation's own networks
// (VPC CIDRs, --own-net) and own public addresses. It answers whether an
// address is internal, without allocating.
package netclass

import (
	"fmt"
	"net/netip"

	"github.com/flowlens/flowlens/enrich/iptable"
)

// Class is the kind of network an address belongs to.
type Class uint8

// Classes, from public (the zero value) to the organisation's own.
const (
	Public     Class = iota // anything not listed below
	Private                 // RFC 1918 10/8, 172.16/12, 192.168/16
	Shared                  // RFC 6598 shared address space 100.64/10 (carrier-grade NAT)
	Loopback                // 127/8, ::1
	LinkLocal               // 169.254/16 (includes the instance metadata service), fe80::/10
	ULA                     // IPv6 unique local fc00::/7
	Multicast               // 224/4, ff00::/8
	Reserved                // other special-purpose blocks: 0/8, 240/4, documentation ranges...
	OwnNetwork              // inside an own network: VPC CIDRs, --own-net
	OwnPublic               // an own public address (Elastic IPs, NAT gateway public IPs)
)

var classNames = [...]string{"public", "private", "shared", "loopback", "link-local", "ula", "multicast", "reserved", "own", "own-public"}

// String returns the class's name as printed in outputs.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", c)
}

// Internal reports whether addresses of the class are inside the
// organisation's networks or not routable on the internet: everything but
// Public. Own public addresses are internal.
func (c Class) Internal() bool { return c != Public }

// builtin are the special-purpose blocks (IANA registries).
var builtin = []struct {
	prefix string
	class  Class
}{
	{"0.0.0.0/8", Reserved},
	{"10.0.0.0/8", Private},
	{"100.64.0.0/10", Shared},
	{"127.0.0.0/8", Loopback},
	{"169.254.0.0/16", LinkLocal},
	{"172.16.0.0/12", Private},
	{"192.0.0.0/24", Reserved},
	{"192.0.2.0/24", Reserved},
	{"192.168.0.0/16", Private},
	{"198.18.0.0/15", Reserved},
	{"198.51.100.0/24", Reserved},
	{"203.0.113.0/24", Reserved},
	{"224.0.0.0/4", Multicast},
	{"240.0.0.0/4", Reserved},
	{"::/128", Reserved},
	{"::1/128", Loopback},
	{"64:ff9b:1::/48", Reserved},
	{"100::/64", Reserved},
	{"2001:db8::/32", Reserved},
	{"fc00::/7", ULA},
	{"fe80::/10", LinkLocal},
	{"ff00::/8", Multicast},
}

// Config lists the organisation's networks and addresses.
type Config struct {
	// OwnNetworks are CIDRs of the organisation (VPC CIDRs, on-premises
	// ranges). Addresses inside them are OwnNetwork, also when the block is
	// public or more specific than a private block.
	OwnNetworks []netip.Prefix
	// OwnPublic are the organisation's public addresses or blocks (Elastic
	// IPs, NAT gateway public IPs).
	OwnPublic []netip.Prefix
	// DocumentationPublic treats the documentation blocks (192.0.2.0/24,
	// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) as public, as test
	// data and examples use them for internet hosts.
	DocumentationPublic bool
}

// Classifier classifies addresses. It is immutable and safe for
// concurrent use.
type Classifier struct {
	t *iptable.Table[Class]
}

// New builds a Classifier: the special-purpose blocks plus the own
// networks (the more specific block wins; own networks win over a
// special block of the same size, own public over own network).
func New(cfg Config) *Classifier {
	var b iptable.Builder[Class]
	for _, e := range builtin {
		p := netip.MustParsePrefix(e.prefix)
		if cfg.DocumentationPublic && isDocumentation(p) {
			continue
		}
		b.Add(p, e.class)
	}
	for _, p := range cfg.OwnNetworks {
		b.Add(p, OwnNetwork)
	}
	for _, p := range cfg.OwnPublic {
		b.Add(p, OwnPublic)
	}
	return &Classifier{t: b.Build(func(outer, inner Class) Class {
		if outer >= OwnNetwork && inner < OwnNetwork {
			// A special block inside an own network stays own.
			return outer
		}
		return max(outer, inner)
	})}
}

func isDocumentation(p netip.Prefix) bool {
	switch p.String() {
	case "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32":
		return true
	}
	return false
}

// Classify returns the class of a. Invalid addresses are Reserved.
func (c *Classifier) Classify(a netip.Addr) Class {
	if !a.IsValid() {
		return Reserved
	}
	v, _ := c.t.Lookup(a)
	return v
}

// Internal reports whether a is internal (Classify(a).Internal()).
func (c *Classifier) Internal(a netip.Addr) bool { return c.Classify(a).Internal() }
