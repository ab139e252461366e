// Package inventory holds the facts about an AWS estate that enrichment
// and the audits need: network interfaces and the entity behind each (EC2
// instance, NAT gateway, load balancer, RDS, Lambda, VPC endpoint...), VPC
// and subnet CIDRs, NAT gateway addresses and the estate's own public
// addresses. It is read from the JSON that 'aws ec2 describe-*' prints
// and saved as one merged JSON document.
package inventory

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/flowlens/flowlens/enrich/iptable"
)

// DefaultPath is the inventory file commands use unless told otherwise.
const DefaultPath = "flowlens.inventory.json"

// Inventory is a merged view of describe-* outputs.
type Inventory struct {
	ENIs        []ENI        `json:"enis,omitempty"`
	NATGateways []NATGateway `json:"nat_gateways,omitempty"`
	VPCs        []VPC        `json:"vpcs,omitempty"`
	Subnets     []Subnet     `json:"subnets,omitempty"`
	Instances   []Instance   `json:"instances,omitempty"`
}

// ENI is one network interface.
type ENI struct {
	ID               string       `json:"id"`
	InterfaceType    string       `json:"interface_type,omitempty"`
	Description      string       `json:"description,omitempty"`
	RequesterID      string       `json:"requester_id,omitempty"`
	RequesterManaged bool         `json:"requester_managed,omitempty"`
	Status           string       `json:"status,omitempty"`
	OwnerID          string       `json:"owner_id,omitempty"`
	VPCID            string       `json:"vpc_id,omitempty"`
	SubnetID         string       `json:"subnet_id,omitempty"`
	AvailabilityZone string       `json:"availability_zone,omitempty"`
	InstanceID       string       `json:"instance_id,omitempty"`
	Name             string       `json:"name,omitempty"`
	PrivateIPs       []netip.Addr `json:"private_ips,omitempty"`
	PublicIPs        []netip.Addr `json:"public_ips,omitempty"`
	IPv6             []netip.Addr `json:"ipv6,omitempty"`
}

// NATGateway is one NAT gateway.
type NATGateway struct {
	ID               string       `json:"id"`
	State            string       `json:"state,omitempty"`
	ConnectivityType string       `json:"connectivity_type,omitempty"`
	VPCID            string       `json:"vpc_id,omitempty"`
	SubnetID         string       `json:"subnet_id,omitempty"`
	Name             string       `json:"name,omitempty"`
	ENIs             []string     `json:"enis,omitempty"`
	PrivateIPs       []netip.Addr `json:"private_ips,omitempty"`
	PublicIPs        []netip.Addr `json:"public_ips,omitempty"`
}

// VPC is one VPC and its CIDR blocks.
type VPC struct {
	ID      string         `json:"id"`
	OwnerID string         `json:"owner_id,omitempty"`
	Name    string         `json:"name,omitempty"`
	CIDRs   []netip.Prefix `json:"cidrs,omitempty"`
}

// Subnet is one subnet.
type Subnet struct {
	ID               string         `json:"id"`
	VPCID            string         `json:"vpc_id,omitempty"`
	AvailabilityZone string         `json:"availability_zone,omitempty"`
	Name             string         `json:"name,omitempty"`
	CIDRs            []netip.Prefix `json:"cidrs,omitempty"`
}

// Instance is one EC2 instance.
type Instance struct {
	ID           string       `json:"id"`
	Name         string       `json:"name,omitempty"`
	InstanceType string       `json:"instance_type,omitempty"`
	State        string       `json:"state,omitempty"`
	VPCID        string       `json:"vpc_id,omitempty"`
	SubnetID     string       `json:"subnet_id,omitempty"`
	ENIs         []string     `json:"enis,omitempty"`
	PrivateIPs   []netip.Addr `json:"private_ips,omitempty"`
	PublicIPs    []netip.Addr `json:"public_ips,omitempty"`
}

// Merge adds o's objects to inv; an object with an ID already present
// replaces it.
func (inv *Inventory) Merge(o *Inventory) {
	inv.ENIs = mergeByID(inv.ENIs, o.ENIs, func(e ENI) string { return e.ID })
	inv.NATGateways = mergeByID(inv.NATGateways, o.NATGateways, func(e NATGateway) string { return e.ID })
	inv.VPCs = mergeByID(inv.VPCs, o.VPCs, func(e VPC) string { return e.ID })
	inv.Subnets = mergeByID(inv.Subnets, o.Subnets, func(e Subnet) string { return e.ID })
	inv.Instances = mergeByID(inv.Instances, o.Instances, func(e Instance) string { return e.ID })
}

func mergeByID[T any](a, b []T, id func(T) string) []T {
	pos := make(map[string]int, len(a))
	for i, x := range a {
		pos[id(x)] = i
	}
	for _, x := range b {
		if i, ok := pos[id(x)]; ok {
			a[i] = x
			continue
		}
		pos[id(x)] = len(a)
		a = append(a, x)
	}
	slices.SortStableFunc(a, func(x, y T) int { return cmp.Compare(id(x), id(y)) })
	return a
}

// Load reads a saved inventory.
func Load(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	inv, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("inventory %s: %w", path, err)
	}
	return inv, nil
}

// Save writes inv as indented JSON, replacing path atomically.
func (inv *Inventory) Save(path string) error {
	data, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".inventory-*")
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("inventory %s: %w", path, err)
	}
	return nil
}

// OwnNetworks returns the VPC CIDR blocks (and the subnet blocks, which
// lie inside them unless the VPC itself is missing).
func (inv *Inventory) OwnNetworks() []netip.Prefix {
	var out []netip.Prefix
	for _, v := range inv.VPCs {
		out = append(out, v.CIDRs...)
	}
	for _, s := range inv.Subnets {
		out = append(out, s.CIDRs...)
	}
	return dedupe(out)
}

// OwnPublicIPs returns every public address the estate holds: ENI
// associations, NAT gateway and instance public addresses.
func (inv *Inventory) OwnPublicIPs() []netip.Addr {
	var out []netip.Addr
	for _, e := range inv.ENIs {
		out = append(out, e.PublicIPs...)
	}
	for _, n := range inv.NATGateways {
		out = append(out, n.PublicIPs...)
	}
	for _, in := range inv.Instances {
		out = append(out, in.PublicIPs...)
	}
	return dedupe(out)
}

// NATPrivateIPs returns the private addresses of the NAT gateways (the
// source address of their traffic to the internet in flow logs), from
// the NAT gateways and from ENIs of type nat_gateway.
func (inv *Inventory) NATPrivateIPs() []netip.Addr {
	var out []netip.Addr
	for _, n := range inv.NATGateways {
		out = append(out, n.PrivateIPs...)
	}
	for i := range inv.ENIs {
		if EntityOf(&inv.ENIs[i], nil).Type == NATGatewayType {
			out = append(out, inv.ENIs[i].PrivateIPs...)
		}
	}
	return dedupe(out)
}

func dedupe[T interface{ Compare(T) int }](s []T) []T {
	slices.SortFunc(s, func(a, b T) int { return a.Compare(b) })
	return slices.CompactFunc(s, func(a, b T) bool { return a.Compare(b) == 0 })
}

// Index maps addresses to the entity behind them. It is immutable and
// safe for concurrent use; lookups do not allocate.
type Index struct {
	entities []Entity
	t        *iptable.Table[int32]
}

// NewIndex indexes every private, public and IPv6 address of the ENIs,
// and the NAT gateways' addresses (for NAT gateways missing from the
// ENI list).
func (inv *Inventory) NewIndex() *Index {
	x := &Index{}
	instances := make(map[string]*Instance, len(inv.Instances))
	for i := range inv.Instances {
		instances[inv.Instances[i].ID] = &inv.Instances[i]
	}
	var b iptable.Builder[int32]
	add := func(e Entity, addrs ...[]netip.Addr) {
		id := int32(len(x.entities))
		x.entities = append(x.entities, e)
		for _, as := range addrs {
			for _, a := range as {
				if a.IsValid() {
					b.Add(netip.PrefixFrom(a, a.BitLen()), id)
				}
			}
		}
	}
	for _, n := range inv.NATGateways {
		add(Entity{Type: NATGatewayType, ID: n.ID, Name: n.Name, VPCID: n.VPCID}, n.PrivateIPs, n.PublicIPs)
	}
	// ENIs come after, so their more detailed entity wins for the same
	// address.
	natNames := map[string]string{}
	for _, n := range inv.NATGateways {
		natNames[n.ID] = n.Name
	}
	for i := range inv.ENIs {
		e := &inv.ENIs[i]
		ent := EntityOf(e, instances[e.InstanceID])
		if ent.Type == NATGatewayType && ent.Name == "" {
			ent.Name = natNames[ent.ID]
		}
		add(ent, e.PrivateIPs, e.PublicIPs, e.IPv6)
	}
	x.t = b.Build(nil)
	return x
}

// Lookup returns the entity using address a.
func (x *Index) Lookup(a netip.Addr) (Entity, bool) {
	i, ok := x.t.Lookup(a)
	if !ok {
		return Entity{}, false
	}
	return x.entities[i], true
}
