package ec2test

import (
	"encoding/json"
	"fmt"
)

// The resource types below are what the fake serves. Field names are the
// EC2 API member names, which are also the keys 'aws ec2 describe-*'
// prints, so the CLI's JSON decodes into them with encoding/json; the xml
// tags are the element names of the Query protocol (lists are
// <xxxSet><item>...</item></xxxSet>). Only the fields flowlens reads, and
// a few neighbours, are modelled.

// Tag is a resource tag.
type Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

// NetworkInterface is one ENI (DescribeNetworkInterfaces).
type NetworkInterface struct {
	NetworkInterfaceId string                    `xml:"networkInterfaceId"`
	SubnetId           string                    `xml:"subnetId,omitempty"`
	VpcId              string                    `xml:"vpcId,omitempty"`
	AvailabilityZone   string                    `xml:"availabilityZone,omitempty"`
	Description        string                    `xml:"description"`
	OwnerId            string                    `xml:"ownerId,omitempty"`
	RequesterId        string                    `xml:"requesterId,omitempty"`
	RequesterManaged   bool                      `xml:"requesterManaged"`
	Status             string                    `xml:"status,omitempty"`
	MacAddress         string                    `xml:"macAddress,omitempty"`
	PrivateIpAddress   string                    `xml:"privateIpAddress,omitempty"`
	PrivateDnsName     string                    `xml:"privateDnsName,omitempty"`
	SourceDestCheck    bool                      `xml:"sourceDestCheck"`
	InterfaceType      string                    `xml:"interfaceType,omitempty"`
	Association        *NetworkInterfaceAssoc    `xml:"association,omitempty"`
	Attachment         *NetworkInterfaceAttach   `xml:"attachment,omitempty"`
	PrivateIpAddresses []NetworkInterfacePrivate `xml:"privateIpAddressesSet>item"`
	Ipv6Addresses      []Ipv6Address             `xml:"ipv6AddressesSet>item"`
	TagSet             []Tag                     `xml:"tagSet>item"`
	// Managed marks an interface managed by an AWS service while the
	// account's managed resource visibility is "hidden": it is listed
	// only when the request sets IncludeManagedResources.
	Managed bool `xml:"-" json:"-"`
}

// NetworkInterfaceAssoc is the public address associated with an ENI or
// one of its private addresses.
type NetworkInterfaceAssoc struct {
	PublicIp      string `xml:"publicIp,omitempty"`
	PublicDnsName string `xml:"publicDnsName,omitempty"`
	IpOwnerId     string `xml:"ipOwnerId,omitempty"`
	AllocationId  string `xml:"allocationId,omitempty"`
	AssociationId string `xml:"associationId,omitempty"`
}

// NetworkInterfaceAttach is an ENI's attachment to an instance.
type NetworkInterfaceAttach struct {
	AttachmentId    string `xml:"attachmentId,omitempty"`
	InstanceId      string `xml:"instanceId,omitempty"`
	InstanceOwnerId string `xml:"instanceOwnerId,omitempty"`
	DeviceIndex     int    `xml:"deviceIndex"`
	Status          string `xml:"status,omitempty"`
}

// NetworkInterfacePrivate is one private IPv4 address of an ENI.
type NetworkInterfacePrivate struct {
	PrivateIpAddress string                 `xml:"privateIpAddress"`
	PrivateDnsName   string                 `xml:"privateDnsName,omitempty"`
	Primary          bool                   `xml:"primary"`
	Association      *NetworkInterfaceAssoc `xml:"association,omitempty"`
}

// Ipv6Address is one IPv6 address of an interface.
type Ipv6Address struct {
	Ipv6Address string `xml:"ipv6Address"`
}

// NatGateway is one NAT gateway (DescribeNatGateways).
type NatGateway struct {
	NatGatewayId        string              `xml:"natGatewayId"`
	State               string              `xml:"state,omitempty"`
	ConnectivityType    string              `xml:"connectivityType,omitempty"`
	VpcId               string              `xml:"vpcId,omitempty"`
	SubnetId            string              `xml:"subnetId,omitempty"`
	NatGatewayAddresses []NatGatewayAddress `xml:"natGatewayAddressSet>item"`
	Tags                []Tag               `xml:"tagSet>item"`
}

// NatGatewayAddress is one address of a NAT gateway.
type NatGatewayAddress struct {
	AllocationId       string `xml:"allocationId,omitempty"`
	NetworkInterfaceId string `xml:"networkInterfaceId,omitempty"`
	PrivateIp          string `xml:"privateIp,omitempty"`
	PublicIp           string `xml:"publicIp,omitempty"`
	AssociationId      string `xml:"associationId,omitempty"`
	IsPrimary          bool   `xml:"isPrimary"`
	Status             string `xml:"status,omitempty"`
}

// Vpc is one VPC (DescribeVpcs).
type Vpc struct {
	VpcId                       string                 `xml:"vpcId"`
	OwnerId                     string                 `xml:"ownerId,omitempty"`
	State                       string                 `xml:"state,omitempty"`
	CidrBlock                   string                 `xml:"cidrBlock,omitempty"`
	IsDefault                   bool                   `xml:"isDefault"`
	CidrBlockAssociationSet     []CidrBlockAssociation `xml:"cidrBlockAssociationSet>item"`
	Ipv6CidrBlockAssociationSet []CidrBlockAssociation `xml:"ipv6CidrBlockAssociationSet>item"`
	Tags                        []Tag                  `xml:"tagSet>item"`
}

// CidrBlockAssociation is an IPv4 or IPv6 block of a VPC or subnet.
type CidrBlockAssociation struct {
	AssociationId string `xml:"associationId,omitempty"`
	CidrBlock     string `xml:"cidrBlock,omitempty"`
	Ipv6CidrBlock string `xml:"ipv6CidrBlock,omitempty"`
}

// Subnet is one subnet (DescribeSubnets).
type Subnet struct {
	SubnetId                    string                 `xml:"subnetId"`
	VpcId                       string                 `xml:"vpcId,omitempty"`
	OwnerId                     string                 `xml:"ownerId,omitempty"`
	State                       string                 `xml:"state,omitempty"`
	AvailabilityZone            string                 `xml:"availabilityZone,omitempty"`
	CidrBlock                   string                 `xml:"cidrBlock,omitempty"`
	Ipv6CidrBlockAssociationSet []CidrBlockAssociation `xml:"ipv6CidrBlockAssociationSet>item"`
	Tags                        []Tag                  `xml:"tagSet>item"`
}

// Reservation groups the instances of one launch (DescribeInstances).
type Reservation struct {
	ReservationId string     `xml:"reservationId"`
	OwnerId       string     `xml:"ownerId,omitempty"`
	Instances     []Instance `xml:"instancesSet>item"`
}

// Instance is one EC2 instance. The wire names of the public address
// (ipAddress, dnsName) and the state (instanceState) differ from the
// member names.
type Instance struct {
	InstanceId        string                     `xml:"instanceId"`
	InstanceType      string                     `xml:"instanceType,omitempty"`
	State             *InstanceState             `xml:"instanceState,omitempty"`
	PrivateDnsName    string                     `xml:"privateDnsName,omitempty"`
	PublicDnsName     string                     `xml:"dnsName,omitempty"`
	PrivateIpAddress  string                     `xml:"privateIpAddress,omitempty"`
	PublicIpAddress   string                     `xml:"ipAddress,omitempty"`
	SubnetId          string                     `xml:"subnetId,omitempty"`
	VpcId             string                     `xml:"vpcId,omitempty"`
	NetworkInterfaces []InstanceNetworkInterface `xml:"networkInterfaceSet>item"`
	Tags              []Tag                      `xml:"tagSet>item"`
	// Managed hides the instance unless IncludeManagedResources is set.
	Managed bool `xml:"-" json:"-"`
}

// InstanceState is an instance's state.
type InstanceState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

// InstanceNetworkInterface is an interface as DescribeInstances shows it.
type InstanceNetworkInterface struct {
	NetworkInterfaceId string                    `xml:"networkInterfaceId"`
	SubnetId           string                    `xml:"subnetId,omitempty"`
	VpcId              string                    `xml:"vpcId,omitempty"`
	PrivateIpAddress   string                    `xml:"privateIpAddress,omitempty"`
	Association        *NetworkInterfaceAssoc    `xml:"association,omitempty"`
	PrivateIpAddresses []NetworkInterfacePrivate `xml:"privateIpAddressesSet>item"`
	Ipv6Addresses      []Ipv6Address             `xml:"ipv6AddressesSet>item"`
}

// FlowLog is one flow log (DescribeFlowLogs).
type FlowLog struct {
	FlowLogId              string `xml:"flowLogId"`
	FlowLogStatus          string `xml:"flowLogStatus,omitempty"`
	ResourceId             string `xml:"resourceId,omitempty"`
	TrafficType            string `xml:"trafficType,omitempty"`
	LogDestinationType     string `xml:"logDestinationType,omitempty"`
	LogDestination         string `xml:"logDestination,omitempty"`
	LogGroupName           string `xml:"logGroupName,omitempty"`
	LogFormat              string `xml:"logFormat,omitempty"`
	DeliverLogsStatus      string `xml:"deliverLogsStatus,omitempty"`
	MaxAggregationInterval int    `xml:"maxAggregationInterval,omitempty"`
	Tags                   []Tag  `xml:"tagSet>item"`
}

// Estate is what one region holds.
type Estate struct {
	NetworkInterfaces []NetworkInterface
	NatGateways       []NatGateway
	Vpcs              []Vpc
	Subnets           []Subnet
	Reservations      []Reservation
	FlowLogs          []FlowLog
}

// EstateFromJSON decodes documents printed by 'aws ec2
// describe-network-interfaces', 'describe-nat-gateways',
// 'describe-vpcs', 'describe-subnets', 'describe-instances' and
// 'describe-flow-logs' into one estate.
func EstateFromJSON(docs ...[]byte) (Estate, error) {
	var e Estate
	for i, d := range docs {
		var one Estate
		if err := json.Unmarshal(d, &one); err != nil {
			return e, fmt.Errorf("ec2test: document %d: %w", i+1, err)
		}
		e.NetworkInterfaces = append(e.NetworkInterfaces, one.NetworkInterfaces...)
		e.NatGateways = append(e.NatGateways, one.NatGateways...)
		e.Vpcs = append(e.Vpcs, one.Vpcs...)
		e.Subnets = append(e.Subnets, one.Subnets...)
		e.Reservations = append(e.Reservations, one.Reservations...)
		e.FlowLogs = append(e.FlowLogs, one.FlowLogs...)
	}
	return e, nil
}
