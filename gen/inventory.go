package gen

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// The shapes of 'aws ec2 describe-network-interfaces', 'describe-vpcs' and
// 'describe-subnets' output that WriteInventory fills.
type (
	awsTag    struct{ Key, Value string }
	awsAssoc  struct{ PublicIp string }
	awsPrivIP struct {
		PrivateIpAddress string
		Primary          bool
		Association      *awsAssoc `json:",omitempty"`
	}
	awsIPv6   struct{ Ipv6Address string }
	awsAttach struct{ InstanceId string }
	awsENI    struct {
		NetworkInterfaceId string
		InterfaceType      string
		Description        string
		RequesterId        string `json:",omitempty"`
		RequesterManaged   bool
		Status             string
		OwnerId            string
		VpcId              string
		SubnetId           string
		AvailabilityZone   string
		PrivateIpAddress   string
		PrivateIpAddresses []awsPrivIP
		Ipv6Addresses      []awsIPv6
		Association        *awsAssoc  `json:",omitempty"`
		Attachment         *awsAttach `json:",omitempty"`
		TagSet             []awsTag
	}
	awsCIDR struct {
		CidrBlock     string `json:",omitempty"`
		Ipv6CidrBlock string `json:",omitempty"`
	}
	awsVPC struct {
		VpcId                       string
		OwnerId                     string
		CidrBlock                   string
		Ipv6CidrBlockAssociationSet []awsCIDR
		Tags                        []awsTag
	}
	awsSubnet struct {
		SubnetId                    string
		VpcId                       string
		AvailabilityZone            string
		CidrBlock                   string
		Ipv6CidrBlockAssociationSet []awsCIDR
	}
)

// WriteInventory writes the estate of t as one JSON document with the
// NetworkInterfaces, Vpcs and Subnets keys of 'aws ec2 describe-*'
// output, as 'flowlens inventory import' and --inventory read it. Each
// interface carries what AWS sets for its kind: instances are attached
// (InstanceId), NAT gateway, load balancer, RDS, Lambda, ECS, VPC
// endpoint and transit gateway interfaces have their managed type,
// requester and description.
func WriteInventory(t *Truth, w io.Writer) error {
	var doc struct {
		NetworkInterfaces []awsENI
		Vpcs              []awsVPC
		Subnets           []awsSubnet
	}
	azName := func(azID string) string {
		n := 0
		if i := strings.LastIndex(azID, "-az"); i >= 0 {
			fmt.Sscanf(azID[i+3:], "%d", &n)
		}
		return t.Estate.Region + string(rune('a'+max(n-1, 0)))
	}
	subnetAZ := map[string]string{}
	for _, a := range t.Estate.Accounts {
		for _, v := range a.VPCs {
			vpc := awsVPC{VpcId: v.ID, OwnerId: a.ID, CidrBlock: v.CIDR.String(), Tags: []awsTag{{"Name", v.Name}}}
			if v.IPv6CIDR.IsValid() {
				vpc.Ipv6CidrBlockAssociationSet = []awsCIDR{{Ipv6CidrBlock: v.IPv6CIDR.String()}}
			}
			doc.Vpcs = append(doc.Vpcs, vpc)
			for _, s := range v.Subnets {
				sn := awsSubnet{SubnetId: s.ID, VpcId: v.ID, AvailabilityZone: azName(s.AZID), CidrBlock: s.CIDR.String()}
				if s.IPv6CIDR.IsValid() {
					sn.Ipv6CidrBlockAssociationSet = []awsCIDR{{Ipv6CidrBlock: s.IPv6CIDR.String()}}
				}
				subnetAZ[s.ID] = sn.AvailabilityZone
				doc.Subnets = append(doc.Subnets, sn)
			}
		}
	}
	for _, f := range t.Estate.Interfaces {
		e := awsENI{
			NetworkInterfaceId: f.ID, InterfaceType: "interface", Status: "in-use", OwnerId: f.Account,
			VpcId: f.VPC, SubnetId: f.Subnet, AvailabilityZone: subnetAZ[f.Subnet],
			PrivateIpAddress: f.PrivateIP.String(), Ipv6Addresses: []awsIPv6{},
			TagSet: []awsTag{},
		}
		pip := awsPrivIP{PrivateIpAddress: f.PrivateIP.String(), Primary: true}
		if f.PublicIP.IsValid() {
			pip.Association = &awsAssoc{PublicIp: f.PublicIP.String()}
			e.Association = pip.Association
		}
		e.PrivateIpAddresses = []awsPrivIP{pip}
		if f.IPv6.IsValid() {
			e.Ipv6Addresses = append(e.Ipv6Addresses, awsIPv6{Ipv6Address: f.IPv6.String()})
		}
		managed := func(requester, desc string) {
			e.RequesterId, e.RequesterManaged, e.Description = requester, true, desc
		}
		uuid := func() string {
			h := sha256.Sum256([]byte(f.ID))
			x := fmt.Sprintf("%x", h[:16])
			return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
		}
		switch f.Role {
		case "nat-gateway":
			e.InterfaceType = "nat_gateway"
			managed("amazon-vpc", "Interface for NAT Gateway "+f.ResourceID)
		case "load-balancer":
			managed("amazon-elb", "ELB "+f.ResourceID)
		case "rds":
			managed("amazon-rds", "RDSNetworkInterface")
		case "lambda":
			e.InterfaceType = "lambda"
			managed("amazon-lambda", "AWS Lambda VPC ENI-"+f.Name+"-"+uuid())
		case "ecs-task":
			managed("amazon-ecs", fmt.Sprintf("arn:aws:ecs:%s:%s:attachment/%s", t.Estate.Region, f.Account, uuid()))
		case "vpc-endpoint":
			e.InterfaceType = "vpc_endpoint"
			managed("amazon-vpce", "VPC Endpoint Interface "+f.ResourceID)
		case "tgw-attachment":
			e.InterfaceType = "transit_gateway"
			managed("amazon-tgw", "Network Interface for Transit Gateway Attachment "+f.ResourceID)
		default:
			e.Description = "Primary network interface"
			if f.InstanceID != "" {
				e.Attachment = &awsAttach{InstanceId: f.InstanceID}
			}
			e.TagSet = append(e.TagSet, awsTag{"Name", f.Name})
		}
		doc.NetworkInterfaces = append(doc.NetworkInterfaces, e)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	return nil
}
