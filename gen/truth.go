package gen

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"
)

// Truth describes what a generation run wrote: the estate, counts over every
// record, and exact facts about each planted scenario. Tests compare the
// answers of analyses with it. It marshals to JSON as a manifest.
type Truth struct {
	// Seed is the seed the data was generated with.
	Seed uint64 `json:"seed"`
	// Format is the record format as an AWS ${field} string.
	Format string `json:"format"`
	// Start and End bound the capture windows (End is exclusive).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// WindowSeconds is the aggregation interval.
	WindowSeconds int64 `json:"window_seconds"`
	// Stats counts what was written.
	Stats Stats `json:"stats"`
	// Estate lists the modelled accounts, VPCs and interfaces.
	Estate Estate `json:"estate"`
	// PortScan is set when a port scan was planted.
	PortScan *PortScanTruth `json:"port_scan,omitempty"`
	// SSHBruteForce is set when an SSH brute force was planted.
	SSHBruteForce *BruteForceTruth `json:"ssh_brute_force,omitempty"`
	// Exfiltration is set when an exfiltration was planted.
	Exfiltration *ExfilTruth `json:"exfiltration,omitempty"`
	// IOC is the generated indicator list with what the traffic holds for
	// each entry; empty unless the IOC scenario was planted.
	IOC []IOCEntry `json:"ioc,omitempty"`
	// Extra holds the facts of the opt-in detection scenarios planted.
	Extra ExtraTruth `json:"extra,omitzero"`
}

// Stats counts records by kind. Records = OK + NoData + SkipData; Accept,
// Reject, IPv4 and IPv6 count OK records only.
type Stats struct {
	// Records counts every record written.
	Records int `json:"records"`
	// OK, NoData and SkipData count records by log-status.
	OK       int `json:"ok"`
	NoData   int `json:"nodata"`
	SkipData int `json:"skipdata"`
	// Accept and Reject count OK records by action.
	Accept int `json:"accept"`
	Reject int `json:"reject"`
	// IPv4 and IPv6 count OK records by address family.
	IPv4 int `json:"ipv4"`
	IPv6 int `json:"ipv6"`
	// Bytes and Packets sum the OK records.
	Bytes   int64 `json:"bytes"`
	Packets int64 `json:"packets"`
	// Planted is the number of records that belong to planted scenarios.
	Planted int `json:"planted"`
}

func (s *Stats) count(r *rec) {
	s.Records++
	switch r.status {
	case stNoData:
		s.NoData++
		return
	case stSkipData:
		s.SkipData++
		return
	}
	s.OK++
	if r.reject {
		s.Reject++
	} else {
		s.Accept++
	}
	if r.src.ip.Is6() {
		s.IPv6++
	} else {
		s.IPv4++
	}
	s.Bytes += r.bytes
	s.Packets += r.packets
}

// Estate is the modelled AWS environment.
type Estate struct {
	// Region is the region of every VPC.
	Region string `json:"region"`
	// TransitGatewayID is the transit gateway every VPC is attached to.
	TransitGatewayID string `json:"transit_gateway_id"`
	// Accounts lists the accounts and their VPCs.
	Accounts []AccountInfo `json:"accounts"`
	// Interfaces lists every network interface, in creation order.
	Interfaces []InterfaceInfo `json:"interfaces"`
}

// AccountInfo is one AWS account.
type AccountInfo struct {
	// ID is the 12-digit account ID.
	ID string `json:"id"`
	// VPCs lists the account's VPCs.
	VPCs []VPCInfo `json:"vpcs"`
}

// VPCInfo is one VPC and its flow log.
type VPCInfo struct {
	ID string `json:"id"`
	// Name is the environment the VPC holds (prod, staging, ...).
	Name     string       `json:"name"`
	CIDR     netip.Prefix `json:"cidr"`
	IPv6CIDR netip.Prefix `json:"ipv6_cidr"`
	// FlowLogID names the VPC's flow log (it appears in S3 file names).
	FlowLogID string `json:"flow_log_id"`
	// AttachmentID is the VPC's transit gateway attachment.
	AttachmentID string       `json:"attachment_id"`
	Subnets      []SubnetInfo `json:"subnets"`
}

// SubnetInfo is one subnet.
type SubnetInfo struct {
	ID       string       `json:"id"`
	AZID     string       `json:"az_id"`
	CIDR     netip.Prefix `json:"cidr"`
	IPv6CIDR netip.Prefix `json:"ipv6_cidr"`
	// Public subnets route to an internet gateway.
	Public bool `json:"public"`
	// Outpost is the Outpost ID when the subnet is on one.
	Outpost string `json:"outpost,omitempty"`
}

// InterfaceInfo is one network interface.
type InterfaceInfo struct {
	ID string `json:"id"`
	// Name is the interface's Name tag (or its resource's name).
	Name string `json:"name"`
	// Role is what the interface does: web, app, worker, bastion,
	// public-web, domain-controller, jump-host, outpost-app, nat-gateway,
	// load-balancer, rds, lambda, ecs-task, vpc-endpoint or tgw-attachment.
	Role string `json:"role"`
	// InterfaceType is the value of the interface-type field.
	InterfaceType string     `json:"interface_type"`
	Account       string     `json:"account"`
	VPC           string     `json:"vpc"`
	Subnet        string     `json:"subnet"`
	AZID          string     `json:"az_id"`
	PrivateIP     netip.Addr `json:"private_ip"`
	PublicIP      netip.Addr `json:"public_ip,omitzero"`
	IPv6          netip.Addr `json:"ipv6,omitzero"`
	InstanceID    string     `json:"instance_id,omitempty"`
	ResourceID    string     `json:"resource_id,omitempty"`
	// Idle interfaces have no traffic and write NODATA records.
	Idle bool `json:"idle,omitempty"`
}

// PortScanTruth describes the planted port scan.
type PortScanTruth struct {
	// Scanner is the internet address doing the scan.
	Scanner netip.Addr `json:"scanner"`
	// Target is the private address of the scanned instance, as the records
	// show it; TargetPublic is the address the scanner aimed at.
	Target          netip.Addr `json:"target"`
	TargetPublic    netip.Addr `json:"target_public"`
	TargetInterface string     `json:"target_interface"`
	// DistinctPorts is the number of distinct destination ports in records
	// from Scanner to Target.
	DistinctPorts int `json:"distinct_ports"`
	// Probes counts records from Scanner to Target; Rejected those with
	// action REJECT.
	Probes   int `json:"probes"`
	Rejected int `json:"rejected"`
	// OpenPorts are the probed ports that accepted the connection, ascending.
	OpenPorts []int32 `json:"open_ports"`
	// Records counts every record with Scanner as source or destination.
	Records int `json:"records"`
	// Start and End are the earliest start and latest end of the scenario's
	// records, epoch seconds.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// BruteForceTruth describes the planted SSH brute force.
type BruteForceTruth struct {
	// Attacker is the internet address making the attempts.
	Attacker netip.Addr `json:"attacker"`
	// Target is the bastion's private address, as the records show it.
	Target netip.Addr `json:"target"`
	// TargetInterface is the bastion's interface ID.
	TargetInterface string `json:"target_interface"`
	// Attempts counts records from Attacker to Target port 22 (one per
	// connection).
	Attempts int `json:"attempts"`
	// Records counts every record with Attacker as source or destination;
	// Bytes sums them.
	Records int   `json:"records"`
	Bytes   int64 `json:"bytes"`
	// Start and End bound the scenario's records, epoch seconds.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// ExfilTruth describes the planted exfiltration.
type ExfilTruth struct {
	// Source is the private address of the uploading instance.
	Source netip.Addr `json:"source"`
	// SourceInterface is the instance's interface ID.
	SourceInterface string `json:"source_interface"`
	// Destination is the internet address receiving the data.
	Destination netip.Addr `json:"destination"`
	// Port is the destination port.
	Port int32 `json:"port"`
	// NATInterface and NATAddress are the NAT gateway the upload left
	// through; its records show NATAddress -> Destination with the same bytes.
	NATInterface string     `json:"nat_interface"`
	NATAddress   netip.Addr `json:"nat_address"`
	// Flows counts records from Source to Destination.
	Flows int `json:"flows"`
	// Bytes sums the bytes of records from Source to Destination (all on
	// SourceInterface).
	Bytes int64 `json:"bytes"`
	// Records counts every record with Destination as source, destination,
	// packet source or packet destination.
	Records int `json:"records"`
	// Start and End bound the scenario's records, epoch seconds.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// IOCEntry is one address of the generated indicator list.
type IOCEntry struct {
	// IP is the indicator address.
	IP netip.Addr `json:"ip"`
	// Comment says what the address is known for.
	Comment string `json:"comment"`
	// Direction is "outbound" (internal hosts connect to it), "inbound" (it
	// probes the estate) or "" (absent from the traffic).
	Direction string `json:"direction,omitempty"`
	// Records counts records with IP as srcaddr or dstaddr; Bytes sums them.
	Records int   `json:"records"`
	Bytes   int64 `json:"bytes"`
	// PktRecords counts records with IP as srcaddr, dstaddr, pkt-srcaddr or
	// pkt-dstaddr (it adds the NAT gateway's inside legs).
	PktRecords int `json:"pkt_records"`
	// Hosts lists the internal addresses that exchanged traffic with IP
	// directly (srcaddr/dstaddr pairs), ascending.
	Hosts []netip.Addr `json:"hosts,omitempty"`
}

// WriteIOCList writes the indicator list of t as CSV with an "ip,comment"
// header.
func WriteIOCList(t *Truth, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"ip", "comment"}); err != nil {
		return fmt.Errorf("ioc list: %w", err)
	}
	for _, e := range t.IOC {
		if err := cw.Write([]string{e.IP.String(), e.Comment}); err != nil {
			return fmt.Errorf("ioc list: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("ioc list: %w", err)
	}
	return nil
}

// WriteJSON writes t as indented JSON.
func (t *Truth) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("truth manifest: %w", err)
	}
	return nil
}

func newTruth(cfg Config, e *estate) *Truth {
	t := &Truth{
		Seed:          cfg.Seed,
		Format:        cfg.Format.String(),
		Start:         cfg.Start,
		End:           cfg.Start.Add(time.Duration(numWindows(cfg)) * cfg.Window),
		WindowSeconds: int64(cfg.Window / time.Second),
		Estate:        Estate{Region: cfg.Region, TransitGatewayID: e.tgwID},
	}
	for _, a := range e.accounts {
		ai := AccountInfo{ID: a.id}
		for _, v := range a.vpcs {
			vi := VPCInfo{ID: v.id, Name: v.env, CIDR: v.cidr, IPv6CIDR: v.cidr6, FlowLogID: v.flowLogID, AttachmentID: v.attachID}
			for _, s := range v.subnets {
				vi.Subnets = append(vi.Subnets, SubnetInfo{ID: s.id, AZID: s.azID, CIDR: s.cidr, IPv6CIDR: s.cidr6, Public: s.public, Outpost: s.sublocID})
			}
			ai.VPCs = append(ai.VPCs, vi)
		}
		t.Estate.Accounts = append(t.Estate.Accounts, ai)
	}
	for _, f := range e.ifaces {
		fi := InterfaceInfo{
			ID: f.id, Name: f.name, Role: f.role.String(), InterfaceType: f.ifType, Account: f.acct.id,
			VPC: f.vpc.id, Subnet: f.subnet.id, AZID: f.subnet.azID, PrivateIP: f.v4.ip,
			InstanceID: f.instanceID, ResourceID: f.resourceID, Idle: f.idle,
		}
		if f.pub != nil {
			fi.PublicIP = f.pub.ip
		}
		if f.v6 != nil {
			fi.IPv6 = f.v6.ip
		}
		t.Estate.Interfaces = append(t.Estate.Interfaces, fi)
	}
	return t
}

// numWindows is the number of capture windows in cfg's time range.
func numWindows(cfg Config) int64 {
	w := int64(cfg.Duration / cfg.Window)
	if cfg.Duration%cfg.Window != 0 {
		w++
	}
	return w
}

// String summarises t in one line.
func (t *Truth) String() string {
	s := strconv.Itoa(t.Stats.Records) + " records"
	if t.PortScan != nil {
		s += fmt.Sprintf("; port scan %v -> %v (%d ports)", t.PortScan.Scanner, t.PortScan.Target, t.PortScan.DistinctPorts)
	}
	if t.SSHBruteForce != nil {
		s += fmt.Sprintf("; ssh brute force %v -> %v (%d attempts)", t.SSHBruteForce.Attacker, t.SSHBruteForce.Target, t.SSHBruteForce.Attempts)
	}
	if t.Exfiltration != nil {
		s += fmt.Sprintf("; exfiltration %v -> %v (%d bytes)", t.Exfiltration.Source, t.Exfiltration.Destination, t.Exfiltration.Bytes)
	}
	if len(t.IOC) > 0 {
		n := 0
		for _, e := range t.IOC {
			if e.Records > 0 {
				n++
			}
		}
		s += fmt.Sprintf("; %d of %d IOC addresses in traffic", n, len(t.IOC))
	}
	return s
}
