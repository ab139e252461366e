package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// The shapes 'aws ec2 describe-*' prints (only the fields used).
type (
	awsTag   struct{ Key, Value string }
	awsAssoc struct {
		PublicIp string
	}
	awsPrivateIP struct {
		PrivateIpAddress string
		Association      *awsAssoc
	}
	awsIPv6 struct{ Ipv6Address string }
	awsENI  struct {
		NetworkInterfaceId string
		InterfaceType      string
		Description        string
		RequesterId        string
		RequesterManaged   bool
		Status             string
		OwnerId            string
		VpcId              string
		SubnetId           string
		AvailabilityZone   string
		PrivateIpAddress   string
		PrivateIpAddresses []awsPrivateIP
		Ipv6Addresses      []awsIPv6
		Association        *awsAssoc
		Attachment         *struct{ InstanceId string }
		TagSet             []awsTag
		Tags               []awsTag
	}
	awsNAT struct {
		NatGatewayId        string
		State               string
		ConnectivityType    string
		VpcId               string
		SubnetId            string
		Tags                []awsTag
		NatGatewayAddresses []struct {
			NetworkInterfaceId string
			PrivateIp          string
			PublicIp           string
		}
	}
	awsCIDR struct {
		CidrBlock     string
		Ipv6CidrBlock string
	}
	awsVPC struct {
		VpcId                       string
		OwnerId                     string
		CidrBlock                   string
		CidrBlockAssociationSet     []awsCIDR
		Ipv6CidrBlockAssociationSet []awsCIDR
		Tags                        []awsTag
	}
	awsSubnet struct {
		SubnetId                    string
		VpcId                       string
		AvailabilityZone            string
		CidrBlock                   string
		Ipv6CidrBlockAssociationSet []awsCIDR
		Tags                        []awsTag
	}
	awsInstance struct {
		InstanceId        string
		InstanceType      string
		State             *struct{ Name string }
		VpcId             string
		SubnetId          string
		PrivateIpAddress  string
		PublicIpAddress   string
		Tags              []awsTag
		NetworkInterfaces []struct {
			NetworkInterfaceId string
			PrivateIpAddresses []awsPrivateIP
			Ipv6Addresses      []awsIPv6
			Association        *awsAssoc
		}
	}
	describeDoc struct {
		NetworkInterfaces []awsENI
		NatGateways       []awsNAT
		Vpcs              []awsVPC
		Subnets           []awsSubnet
		Reservations      []struct{ Instances []awsInstance }
	}
)

// Parse reads one document: the output of 'aws ec2
// describe-network-interfaces', 'describe-nat-gateways', 'describe-vpcs',
// 'describe-subnets' or 'describe-instances', or an inventory saved by
// Save. A document with none of their keys is an error.
func Parse(data []byte) (*Inventory, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if isSaved(probe) {
		var inv Inventory
		if err := json.Unmarshal(data, &inv); err != nil {
			return nil, fmt.Errorf("saved inventory: %w", err)
		}
		return &inv, nil
	}
	known := false
	for _, k := range []string{"NetworkInterfaces", "NatGateways", "Vpcs", "Subnets", "Reservations"} {
		if _, ok := probe[k]; ok {
			known = true
		}
	}
	if !known {
		return nil, fmt.Errorf("no NetworkInterfaces, NatGateways, Vpcs, Subnets or Reservations: not the output of 'aws ec2 describe-*'")
	}
	var doc describeDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	p := &parser{}
	inv := &Inventory{}
	for _, e := range doc.NetworkInterfaces {
		inv.ENIs = append(inv.ENIs, p.eni(e))
	}
	for _, n := range doc.NatGateways {
		inv.NATGateways = append(inv.NATGateways, p.nat(n))
	}
	for _, v := range doc.Vpcs {
		inv.VPCs = append(inv.VPCs, p.vpc(v))
	}
	for _, s := range doc.Subnets {
		inv.Subnets = append(inv.Subnets, p.subnet(s))
	}
	for _, r := range doc.Reservations {
		for _, in := range r.Instances {
			inv.Instances = append(inv.Instances, p.instance(in))
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return inv, nil
}

func isSaved(probe map[string]json.RawMessage) bool {
	for _, k := range []string{"enis", "nat_gateways", "vpcs", "subnets", "instances"} {
		if _, ok := probe[k]; ok {
			return true
		}
	}
	return false
}

// parser keeps the first address error.
type parser struct{ err error }

func (p *parser) addr(where, s string, out []netip.Addr) []netip.Addr {
	s = strings.TrimSpace(s)
	if s == "" {
		return out
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		if p.err == nil {
			p.err = fmt.Errorf("%s: %w", where, err)
		}
		return out
	}
	for _, x := range out {
		if x == a {
			return out
		}
	}
	return append(out, a)
}

func (p *parser) prefix(where, s string, out []netip.Prefix) []netip.Prefix {
	s = strings.TrimSpace(s)
	if s == "" {
		return out
	}
	x, err := netip.ParsePrefix(s)
	if err != nil {
		if p.err == nil {
			p.err = fmt.Errorf("%s: %w", where, err)
		}
		return out
	}
	x = x.Masked()
	for _, y := range out {
		if y == x {
			return out
		}
	}
	return append(out, x)
}

func nameTag(tags ...[]awsTag) string {
	for _, ts := range tags {
		for _, t := range ts {
			if t.Key == "Name" {
				return t.Value
			}
		}
	}
	return ""
}

func (p *parser) eni(e awsENI) ENI {
	out := ENI{
		ID: e.NetworkInterfaceId, InterfaceType: e.InterfaceType, Description: e.Description,
		RequesterID: e.RequesterId, RequesterManaged: e.RequesterManaged, Status: e.Status,
		OwnerID: e.OwnerId, VPCID: e.VpcId, SubnetID: e.SubnetId, AvailabilityZone: e.AvailabilityZone,
		Name: nameTag(e.TagSet, e.Tags),
	}
	if e.Attachment != nil {
		out.InstanceID = e.Attachment.InstanceId
	}
	where := "network interface " + e.NetworkInterfaceId
	out.PrivateIPs = p.addr(where, e.PrivateIpAddress, out.PrivateIPs)
	for _, ip := range e.PrivateIpAddresses {
		out.PrivateIPs = p.addr(where, ip.PrivateIpAddress, out.PrivateIPs)
		if ip.Association != nil {
			out.PublicIPs = p.addr(where, ip.Association.PublicIp, out.PublicIPs)
		}
	}
	if e.Association != nil {
		out.PublicIPs = p.addr(where, e.Association.PublicIp, out.PublicIPs)
	}
	for _, ip := range e.Ipv6Addresses {
		out.IPv6 = p.addr(where, ip.Ipv6Address, out.IPv6)
	}
	return out
}

func (p *parser) nat(n awsNAT) NATGateway {
	out := NATGateway{ID: n.NatGatewayId, State: n.State, ConnectivityType: n.ConnectivityType,
		VPCID: n.VpcId, SubnetID: n.SubnetId, Name: nameTag(n.Tags)}
	where := "NAT gateway " + n.NatGatewayId
	for _, a := range n.NatGatewayAddresses {
		if a.NetworkInterfaceId != "" {
			out.ENIs = append(out.ENIs, a.NetworkInterfaceId)
		}
		out.PrivateIPs = p.addr(where, a.PrivateIp, out.PrivateIPs)
		out.PublicIPs = p.addr(where, a.PublicIp, out.PublicIPs)
	}
	return out
}

func (p *parser) vpc(v awsVPC) VPC {
	out := VPC{ID: v.VpcId, OwnerID: v.OwnerId, Name: nameTag(v.Tags)}
	where := "VPC " + v.VpcId
	out.CIDRs = p.prefix(where, v.CidrBlock, out.CIDRs)
	for _, c := range v.CidrBlockAssociationSet {
		out.CIDRs = p.prefix(where, c.CidrBlock, out.CIDRs)
	}
	for _, c := range v.Ipv6CidrBlockAssociationSet {
		out.CIDRs = p.prefix(where, c.Ipv6CidrBlock, out.CIDRs)
	}
	return out
}

func (p *parser) subnet(s awsSubnet) Subnet {
	out := Subnet{ID: s.SubnetId, VPCID: s.VpcId, AvailabilityZone: s.AvailabilityZone, Name: nameTag(s.Tags)}
	where := "subnet " + s.SubnetId
	out.CIDRs = p.prefix(where, s.CidrBlock, out.CIDRs)
	for _, c := range s.Ipv6CidrBlockAssociationSet {
		out.CIDRs = p.prefix(where, c.Ipv6CidrBlock, out.CIDRs)
	}
	return out
}

func (p *parser) instance(in awsInstance) Instance {
	out := Instance{ID: in.InstanceId, Name: nameTag(in.Tags), InstanceType: in.InstanceType,
		VPCID: in.VpcId, SubnetID: in.SubnetId}
	if in.State != nil {
		out.State = in.State.Name
	}
	where := "instance " + in.InstanceId
	out.PrivateIPs = p.addr(where, in.PrivateIpAddress, out.PrivateIPs)
	out.PublicIPs = p.addr(where, in.PublicIpAddress, out.PublicIPs)
	for _, n := range in.NetworkInterfaces {
		out.ENIs = append(out.ENIs, n.NetworkInterfaceId)
		for _, ip := range n.PrivateIpAddresses {
			out.PrivateIPs = p.addr(where, ip.PrivateIpAddress, out.PrivateIPs)
			if ip.Association != nil {
				out.PublicIPs = p.addr(where, ip.Association.PublicIp, out.PublicIPs)
			}
		}
		if n.Association != nil {
			out.PublicIPs = p.addr(where, n.Association.PublicIp, out.PublicIPs)
		}
	}
	return out
}

// LoadFiles parses and merges describe-* outputs and saved inventories.
func LoadFiles(paths ...string) (*Inventory, error) {
	inv := &Inventory{}
	for _, path := range paths {
		one, err := Load(path)
		if err != nil {
			return nil, err
		}
		inv.Merge(one)
	}
	return inv, nil
}
