// Package schema holds the field catalog: every field that AWS VPC and Transit
// Gateway flow logs can carry, with its token, column name, type, version and
// meaning. The parser, the stores, the filter language, Parquet output and the
// documentation are all derived from this one table.
package schema

import (
	"fmt"
	"math"
	"strings"
)

// Type is the value type of a field.
type Type uint8

// Field value types. Time is an epoch in seconds stored as a 64-bit integer.
const (
	String Type = iota
	Int32
	Int64
	IP
	Time
	// Bool is a boolean stored as 0 or 1 in integer columns; only derived
	// fields have it.
	Bool
)

func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case IP:
		return "ip"
	case Time:
		return "time"
	case Bool:
		return "bool"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// IsInt reports whether values of t are integers (Time included).
func (t Type) IsInt() bool { return t == Int32 || t == Int64 || t == Time }

// Field describes one flow-log field.
type Field struct {
	// ID is the field's index in Fields.
	ID int
	// Token is the AWS name used in format strings and S3 header lines.
	Token string
	// Column is the column name in stores and outputs: Token with '-' -> '_'.
	Column string
	// Type is the value type.
	Type Type
	// Version is the flow-log version that introduced the field; 6 marks the
	// Transit Gateway fields.
	Version int
	// Description says what the field holds.
	Description string
	// Max is the largest value an integer field may hold: the type's limit,
	// or less where the value's meaning bounds it (ports, protocol numbers).
	// A record with a larger value is a bad record.
	Max int64
}

// maxOf bounds the fields whose meaning limits them below their type's range.
var maxOf = map[string]int64{"srcport": 65535, "dstport": 65535, "protocol": 255}

// TypeMax is the largest value an integer of type t holds.
func TypeMax(t Type) int64 {
	if t == Int32 {
		return math.MaxInt32
	}
	return math.MaxInt64
}

// def is the declarative table; IDs and column names are derived from it.
var def = []struct {
	token   string
	typ     Type
	version int
	desc    string
}{
	// Version 2: the default format.
	{"version", Int32, 2, "Flow log version of the record format."},
	{"account-id", String, 2, "AWS account ID of the owner of the source network interface (or of the flow log for Transit Gateway)."},
	{"interface-id", String, 2, "ID of the network interface the traffic was recorded on."},
	{"srcaddr", IP, 2, "Source address of incoming traffic, or the interface's address for outgoing traffic."},
	{"dstaddr", IP, 2, "Destination address of outgoing traffic, or the interface's address for incoming traffic."},
	{"srcport", Int32, 2, "Source port."},
	{"dstport", Int32, 2, "Destination port."},
	{"protocol", Int32, 2, "IANA protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6)."},
	{"packets", Int64, 2, "Packets transferred during the capture window."},
	{"bytes", Int64, 2, "Bytes transferred during the capture window."},
	{"start", Time, 2, "Time the first packet of the flow was seen in the window, epoch seconds."},
	{"end", Time, 2, "Time the last packet of the flow was seen in the window, epoch seconds."},
	{"action", String, 2, "ACCEPT or REJECT, as decided by security groups and network ACLs."},
	{"log-status", String, 2, "OK, NODATA (no traffic in the window) or SKIPDATA (records were skipped)."},
	// Version 3.
	{"vpc-id", String, 3, "ID of the VPC of the network interface."},
	{"subnet-id", String, 3, "ID of the subnet of the network interface."},
	{"instance-id", String, 3, "ID of the instance the network interface is attached to, if you own it."},
	{"tcp-flags", Int32, 3, "Bitwise OR of the TCP flags seen in the window (FIN 1, SYN 2, RST 4, SYN-ACK 18)."},
	{"type", String, 3, "Traffic type: IPv4, IPv6 or EFA."},
	{"pkt-srcaddr", IP, 3, "Packet-level source address (differs from srcaddr behind a NAT gateway or load balancer)."},
	{"pkt-dstaddr", IP, 3, "Packet-level destination address."},
	// Version 4.
	{"region", String, 4, "Region of the network interface."},
	{"az-id", String, 4, "Availability Zone ID of the network interface."},
	{"sublocation-type", String, 4, "Sublocation kind: wavelength, outpost or localzone."},
	{"sublocation-id", String, 4, "ID of the sublocation."},
	// Version 5.
	{"pkt-src-aws-service", String, 5, "AWS service owning pkt-srcaddr, when it is in a published AWS range."},
	{"pkt-dst-aws-service", String, 5, "AWS service owning pkt-dstaddr, when it is in a published AWS range."},
	{"flow-direction", String, 5, "ingress or egress, relative to the interface."},
	{"traffic-path", Int32, 5, "Path egress traffic took to its destination (1 same VPC ... 8 peering or Transit Gateway)."},
	// Version 7: ECS.
	{"ecs-cluster-arn", String, 7, "ARN of the ECS cluster of the task."},
	{"ecs-cluster-name", String, 7, "Name of the ECS cluster."},
	{"ecs-container-instance-arn", String, 7, "ARN of the ECS container instance (EC2 launch type)."},
	{"ecs-container-instance-id", String, 7, "ID of the ECS container instance (EC2 launch type)."},
	{"ecs-container-id", String, 7, "Docker runtime ID of the first container of the task."},
	{"ecs-second-container-id", String, 7, "Docker runtime ID of the second container of the task."},
	{"ecs-service-name", String, 7, "Name of the ECS service the task belongs to."},
	{"ecs-task-definition-arn", String, 7, "ARN of the ECS task definition."},
	{"ecs-task-arn", String, 7, "ARN of the ECS task."},
	{"ecs-task-id", String, 7, "ID of the ECS task."},
	// Versions 8 to 10.
	{"reject-reason", String, 8, "Why traffic was rejected, e.g. BPA (block public access)."},
	{"resource-id", String, 9, "ID of the resource (such as a NAT gateway) the interface belongs to."},
	{"encryption-status", Int32, 10, "Whether the traffic was encrypted in transit (0 no, 1 Nitro, 2 application, 3 both)."},
	// Version 11.
	{"instance-tag", String, 11, "Value of the first configured tag of the instance."},
	{"instance-tag-2", String, 11, "Value of the second configured tag of the instance."},
	{"interface-tag", String, 11, "Value of the first configured tag of the network interface."},
	{"interface-tag-2", String, 11, "Value of the second configured tag of the network interface."},
	{"asg-tag", String, 11, "Value of the first configured tag of the Auto Scaling group."},
	{"asg-tag-2", String, 11, "Value of the second configured tag of the Auto Scaling group."},
	{"interface-type", String, 11, "Type of the network interface (interface, nat_gateway, lambda, ...)."},
	{"next-hop-interface-id", String, 11, "Network interface of the next hop."},
	{"next-hop-subnet-id", String, 11, "Subnet of the next hop."},
	{"next-hop-az-id", String, 11, "Availability Zone ID of the next hop."},
	{"next-hop-vpc-id", String, 11, "VPC of the next hop."},
	{"next-hop-interface-type", String, 11, "Network interface type of the next hop."},
	// Transit Gateway flow logs.
	{"resource-type", String, 6, "Resource type of the Transit Gateway record (TransitGateway)."},
	{"tgw-id", String, 6, "ID of the transit gateway."},
	{"tgw-attachment-id", String, 6, "ID of the transit gateway attachment."},
	{"tgw-src-vpc-account-id", String, 6, "Account of the source VPC."},
	{"tgw-dst-vpc-account-id", String, 6, "Account of the destination VPC."},
	{"tgw-src-vpc-id", String, 6, "ID of the source VPC."},
	{"tgw-dst-vpc-id", String, 6, "ID of the destination VPC."},
	{"tgw-src-subnet-id", String, 6, "ID of the source subnet."},
	{"tgw-dst-subnet-id", String, 6, "ID of the destination subnet."},
	{"tgw-src-eni", String, 6, "Source network interface."},
	{"tgw-dst-eni", String, 6, "Destination network interface."},
	{"tgw-src-az-id", String, 6, "Availability Zone ID of the source."},
	{"tgw-dst-az-id", String, 6, "Availability Zone ID of the destination."},
	{"tgw-pair-attachment-id", String, 6, "Attachment on the other side of the flow."},
	{"packets-lost-no-route", Int64, 6, "Packets dropped because no route was found."},
	{"packets-lost-blackhole", Int64, 6, "Packets dropped by a blackhole route."},
	{"packets-lost-mtu-exceeded", Int64, 6, "Packets dropped because they exceeded the MTU."},
	{"packets-lost-ttl-expired", Int64, 6, "Packets dropped because their TTL expired."},
}

// Fields is the catalog, in AWS's documented order.
var Fields = buildFields()

// NumFields is the number of catalog fields.
var NumFields = len(def)

// byName maps tokens and column names to IDs.
var byName = buildIndex(Fields)

func buildFields() []Field {
	fs := make([]Field, len(def))
	for i, d := range def {
		col := strings.ReplaceAll(d.token, "-", "_")
		fs[i] = Field{ID: i, Token: d.token, Column: col, Type: d.typ, Version: d.version, Description: d.desc}
		if d.typ.IsInt() {
			fs[i].Max = TypeMax(d.typ)
			if m, ok := maxOf[d.token]; ok {
				fs[i].Max = m
			}
		}
	}
	return fs
}

func buildIndex(fs []Field) map[string]int {
	m := make(map[string]int, 2*len(fs))
	for _, f := range fs {
		m[f.Token] = f.ID
		m[f.Column] = f.ID
	}
	return m
}

// Lookup finds a field by token (`pkt-srcaddr`), column name (`pkt_srcaddr`)
// or either wrapped as `${...}`. Case is ignored.
func Lookup(name string) (Field, bool) {
	name = strings.TrimSpace(name)
	if strings.HasPrefix(name, "${") && strings.HasSuffix(name, "}") {
		name = name[2 : len(name)-1]
	}
	if i, ok := byName[name]; ok {
		return Fields[i], true
	}
	if i, ok := byName[strings.ToLower(name)]; ok {
		return Fields[i], true
	}
	return Field{}, false
}

// LookupBytes is Lookup for a raw token without allocating in the common case
// (exact lower-case token or column name).
func LookupBytes(b []byte) (int, bool) {
	i, ok := byName[string(b)] // map lookup with string(b) does not allocate
	return i, ok
}

// MustLookup returns the ID of a field that must exist.
func MustLookup(name string) int {
	f, ok := Lookup(name)
	if !ok {
		panic("schema: unknown field " + name)
	}
	return f.ID
}

// Well-known field IDs used throughout the code.
var (
	FVersion     = MustLookup("version")
	FAccountID   = MustLookup("account-id")
	FInterfaceID = MustLookup("interface-id")
	FSrcAddr     = MustLookup("srcaddr")
	FDstAddr     = MustLookup("dstaddr")
	FSrcPort     = MustLookup("srcport")
	FDstPort     = MustLookup("dstport")
	FProtocol    = MustLookup("protocol")
	FPackets     = MustLookup("packets")
	FBytes       = MustLookup("bytes")
	FStart       = MustLookup("start")
	FEnd         = MustLookup("end")
	FAction      = MustLookup("action")
	FLogStatus   = MustLookup("log-status")
	FVPCID       = MustLookup("vpc-id")
	FSubnetID    = MustLookup("subnet-id")
	FInstanceID  = MustLookup("instance-id")
	FTCPFlags    = MustLookup("tcp-flags")
	FType        = MustLookup("type")
	FPktSrcAddr  = MustLookup("pkt-srcaddr")
	FPktDstAddr  = MustLookup("pkt-dstaddr")
	FRegion      = MustLookup("region")
	FFlowDir     = MustLookup("flow-direction")
)

// Set is a set of field IDs (catalog and derived).
type Set [2]uint64

// All returns the set of every catalog field.
func All() Set {
	var s Set
	for i := range Fields {
		s.Add(i)
	}
	return s
}

// SetOf returns a set of the given IDs.
func SetOf(ids ...int) Set {
	var s Set
	for _, id := range ids {
		s.Add(id)
	}
	return s
}

// Add puts id in the set.
func (s *Set) Add(id int) { s[id>>6] |= 1 << (uint(id) & 63) }

// Has reports whether id is in the set.
func (s Set) Has(id int) bool { return s[id>>6]&(1<<(uint(id)&63)) != 0 }

// IDs lists the members in ID order: catalog fields, then derived ones.
func (s Set) IDs() []int {
	var ids []int
	for i := 0; i < NumColumns; i++ {
		if s.Has(i) {
			ids = append(ids, i)
		}
	}
	return ids
}
