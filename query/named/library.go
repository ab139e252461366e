package named

// limitParam is the row limit most queries take.
func limitParam(def string) Param {
	return Param{Name: "limit", Type: PInt, Default: def, Description: "maximum rows"}
}

var library = []Query{
	// The Athena VPC flow-logs integration's named queries.
	{
		Name: "accepted-traffic", Group: "athena",
		Description: "Flows that security groups and network ACLs accepted, newest first.",
		Params:      []Param{limitParam("100")},
		Needs:       []string{"action"},
		SQL: `SELECT {{ts "start"}} AS start_time, interface_id, srcaddr, srcport, dstaddr, dstport, protocol, packets, bytes, action
FROM {{flows}} WHERE action = 'ACCEPT'
ORDER BY start DESC LIMIT {{p "limit"}}`,
	},
	{
		Name: "admin-port-traffic", Group: "athena",
		Description: "Traffic to administrative ports (SSH 22, RDP 3389, WinRM 5985-5986, web admin 8080/8443/9090, databases' admin 5432/3306/1433/27017/6379), by destination and port.",
		Params:      []Param{limitParam("100")},
		SQL: `SELECT dstaddr, dstport, count(*) AS flows, count(DISTINCT srcaddr) AS sources,
  sum(CASE WHEN action = 'ACCEPT' THEN 1 ELSE 0 END) AS accepted,
  sum(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected, sum(bytes) AS bytes
FROM {{flows}} WHERE dstport IN (22, 3389, 5985, 5986, 8080, 8443, 9090, 5432, 3306, 1433, 27017, 6379)
GROUP BY dstaddr, dstport ORDER BY flows DESC, dstaddr, dstport LIMIT {{p "limit"}}`,
	},
	{
		Name: "ipv4-traffic", Group: "athena",
		Description: "Total bytes and packets of IPv4 traffic.",
		SQL: `SELECT count(*) AS flows, sum(packets) AS packets, sum(bytes) AS bytes
FROM {{flows}} WHERE srcaddr NOT LIKE '%:%' AND dstaddr NOT LIKE '%:%'`,
	},
	{
		Name: "ipv6-traffic", Group: "athena",
		Description: "Total bytes and packets of IPv6 traffic.",
		SQL: `SELECT count(*) AS flows, sum(packets) AS packets, sum(bytes) AS bytes
FROM {{flows}} WHERE srcaddr LIKE '%:%' OR dstaddr LIKE '%:%'`,
	},
	{
		Name: "rejected-tcp-traffic", Group: "athena",
		Description: "TCP connections rejected by security groups or network ACLs, by source, destination and port.",
		Params:      []Param{limitParam("100")},
		Needs:       []string{"action"},
		SQL: `SELECT srcaddr, dstaddr, dstport, count(*) AS flows, sum(packets) AS packets,
  {{ts "min(start)"}} AS first_seen, {{ts "max(\"end\")"}} AS last_seen
FROM {{flows}} WHERE action = 'REJECT' AND protocol = 6
GROUP BY srcaddr, dstaddr, dstport ORDER BY flows DESC, srcaddr, dstaddr, dstport LIMIT {{p "limit"}}`,
	},
	{
		Name: "rejected-traffic", Group: "athena",
		Description: "All traffic rejected by security groups or network ACLs, newest first.",
		Params:      []Param{limitParam("100")},
		Needs:       []string{"action"},
		SQL: `SELECT {{ts "start"}} AS start_time, interface_id, srcaddr, srcport, dstaddr, dstport, protocol, packets, bytes
FROM {{flows}} WHERE action = 'REJECT'
ORDER BY start DESC LIMIT {{p "limit"}}`,
	},
	{
		Name: "ssh-rdp-traffic", Group: "athena",
		Description: "SSH (22) and RDP (3389) traffic by source and destination, accepted and rejected.",
		Params:      []Param{limitParam("100")},
		SQL: `SELECT srcaddr, dstaddr, dstport, action, count(*) AS flows, sum(bytes) AS bytes,
  {{ts "min(start)"}} AS first_seen, {{ts "max(\"end\")"}} AS last_seen
FROM {{flows}} WHERE dstport IN (22, 3389) AND protocol = 6
GROUP BY srcaddr, dstaddr, dstport, action ORDER BY flows DESC, srcaddr, dstaddr LIMIT {{p "limit"}}`,
	},
	{
		Name: "top-talkers", Group: "athena",
		Description: "The source addresses that sent the most bytes.",
		Params:      []Param{limitParam("50")},
		SQL: `SELECT srcaddr, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS flows
FROM {{flows}} WHERE srcaddr IS NOT NULL
GROUP BY srcaddr ORDER BY bytes DESC, srcaddr LIMIT {{p "limit"}}`,
	},
	{
		Name: "top-talkers-packet-level", Group: "athena",
		Description: "The packet-level source addresses (pkt-srcaddr: the host behind a NAT gateway or load balancer) that sent the most bytes.",
		Params:      []Param{limitParam("50")},
		Needs:       []string{"pkt_srcaddr"},
		SQL: `SELECT pkt_srcaddr, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS flows
FROM {{flows}} WHERE pkt_srcaddr IS NOT NULL
GROUP BY pkt_srcaddr ORDER BY bytes DESC, pkt_srcaddr LIMIT {{p "limit"}}`,
	},
	{
		Name: "top-talking-instances", Group: "athena",
		Description: "The instances whose interfaces carried the most bytes.",
		Params:      []Param{limitParam("50")},
		Needs:       []string{"instance_id"},
		SQL: `SELECT instance_id, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS flows
FROM {{flows}} WHERE instance_id IS NOT NULL
GROUP BY instance_id ORDER BY bytes DESC, instance_id LIMIT {{p "limit"}}`,
	},
	{
		Name: "top-talking-subnets", Group: "athena",
		Description: "The subnets whose interfaces carried the most bytes.",
		Params:      []Param{limitParam("50")},
		Needs:       []string{"subnet_id"},
		SQL: `SELECT subnet_id, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS flows
FROM {{flows}} WHERE subnet_id IS NOT NULL
GROUP BY subnet_id ORDER BY bytes DESC, subnet_id LIMIT {{p "limit"}}`,
	},
	{
		Name: "top-tcp-traffic", Group: "athena",
		Description: "TCP traffic by source address, most bytes first.",
		Params:      []Param{limitParam("100")},
		SQL: `SELECT srcaddr, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS flows, count(DISTINCT dstaddr) AS destinations
FROM {{flows}} WHERE protocol = 6 AND srcaddr IS NOT NULL
GROUP BY srcaddr ORDER BY bytes DESC, srcaddr LIMIT {{p "limit"}}`,
	},
	{
		Name: "total-bytes-transferred", Group: "athena",
		Description: "The source/destination pairs that moved the most bytes.",
		Params:      []Param{limitParam("50")},
		SQL: `SELECT srcaddr, dstaddr, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS flows
FROM {{flows}} WHERE srcaddr IS NOT NULL
GROUP BY srcaddr, dstaddr ORDER BY bytes DESC, srcaddr, dstaddr LIMIT {{p "limit"}}`,
	},
	{
		Name: "total-bytes-transferred-packet-level", Group: "athena",
		Description: "The packet-level source/destination pairs that moved the most bytes.",
		Params:      []Param{limitParam("50")},
		Needs:       []string{"pkt_srcaddr", "pkt_dstaddr"},
		SQL: `SELECT pkt_srcaddr, pkt_dstaddr, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS flows
FROM {{flows}} WHERE pkt_srcaddr IS NOT NULL
GROUP BY pkt_srcaddr, pkt_dstaddr ORDER BY bytes DESC, pkt_srcaddr, pkt_dstaddr LIMIT {{p "limit"}}`,
	},
	{
		Name: "traffic-from-src-addr", Group: "athena",
		Description: "Flows sent by one source address, in time order.",
		Params: []Param{{Name: "addr", Type: PIP, Required: true, Description: "source address"},
			limitParam("1000")},
		SQL: `SELECT {{ts "start"}} AS start_time, interface_id, srcaddr, srcport, dstaddr, dstport, protocol, packets, bytes, action
FROM {{flows}} WHERE srcaddr = {{p "addr"}}
ORDER BY start, dstaddr LIMIT {{p "limit"}}`,
	},
	{
		Name: "traffic-to-dst-addr", Group: "athena",
		Description: "Flows received by one destination address, in time order.",
		Params: []Param{{Name: "addr", Type: PIP, Required: true, Description: "destination address"},
			limitParam("1000")},
		SQL: `SELECT {{ts "start"}} AS start_time, interface_id, srcaddr, srcport, dstaddr, dstport, protocol, packets, bytes, action
FROM {{flows}} WHERE dstaddr = {{p "addr"}}
ORDER BY start, srcaddr LIMIT {{p "limit"}}`,
	},

	// The incident-response playbook's investigation queries.
	{
		Name: "top-ips", Group: "playbook",
		Description: "Addresses seen in the most records, on either side of the flow.",
		Params:      []Param{limitParam("100")},
		SQL: `SELECT ip, count(*) AS records, sum(bytes) AS bytes
FROM (SELECT srcaddr AS ip, bytes FROM {{flows}} WHERE srcaddr IS NOT NULL
      UNION ALL SELECT dstaddr AS ip, bytes FROM {{flows}} WHERE dstaddr IS NOT NULL) AS sides
GROUP BY ip ORDER BY records DESC, ip LIMIT {{p "limit"}}`,
	},
	{
		Name: "ip-timeline", Group: "playbook",
		Description: "Every flow to or from one address, in time order: the address's story.",
		Params: []Param{{Name: "addr", Type: PIP, Required: true, Description: "the address to follow"},
			limitParam("10000")},
		SQL: `SELECT {{ts "start"}} AS start_time, {{ts "\"end\""}} AS end_time,
  CASE WHEN srcaddr = {{p "addr"}} THEN 'out' ELSE 'in' END AS direction,
  interface_id, srcaddr, srcport, dstaddr, dstport, protocol, packets, bytes, action, log_status
FROM {{flows}} WHERE srcaddr = {{p "addr"}} OR dstaddr = {{p "addr"}}
ORDER BY start, "end", srcaddr, dstaddr LIMIT {{p "limit"}}`,
	},
	{
		Name: "pair-ratio", Group: "playbook",
		Description: "Per source/destination pair: records, total bytes, bytes per record, first and last seen. With addr, only pairs involving it.",
		Params: []Param{{Name: "addr", Type: PIP, Description: "only pairs with this address on either side"},
			limitParam("100")},
		SQL: `SELECT srcaddr, dstaddr, count(*) AS records, sum(bytes) AS total_bytes,
  sum(bytes) / count(*) AS bytes_per_record,
  {{ts "min(start)"}} AS first_seen, {{ts "max(\"end\")"}} AS last_seen
FROM {{flows}} WHERE srcaddr IS NOT NULL{{if has "addr"}} AND (srcaddr = {{p "addr"}} OR dstaddr = {{p "addr"}}){{end}}
GROUP BY srcaddr, dstaddr ORDER BY total_bytes DESC, srcaddr, dstaddr LIMIT {{p "limit"}}`,
	},

	// The CloudWatch Logs Insights sample queries.
	{
		Name: "top-packet-transfers", Group: "insights",
		Description: "The source/destination pairs that transferred the most packets.",
		Params:      []Param{limitParam("15")},
		SQL: `SELECT srcaddr, dstaddr, sum(packets) AS packets, sum(bytes) AS bytes
FROM {{flows}} WHERE srcaddr IS NOT NULL
GROUP BY srcaddr, dstaddr ORDER BY packets DESC, srcaddr, dstaddr LIMIT {{p "limit"}}`,
	},
	{
		Name: "subnet-top-bytes", Group: "insights",
		Description: "Top byte transfers of the addresses in one subnet, given as a text prefix of the address (e.g. 10.0.1.).",
		Params: []Param{{Name: "prefix", Type: PString, Default: "10.", Description: "address prefix, like 10.0.1."},
			limitParam("15")},
		SQL: `SELECT srcaddr, dstaddr, sum(bytes) AS bytes, sum(packets) AS packets
FROM {{flows}} WHERE srcaddr LIKE concat({{p "prefix"}}, '%')
GROUP BY srcaddr, dstaddr ORDER BY bytes DESC, srcaddr, dstaddr LIMIT {{p "limit"}}`,
	},
	{
		Name: "udp-sources", Group: "insights",
		Description: "Sources of UDP traffic, by records and bytes.",
		Params:      []Param{limitParam("20")},
		SQL: `SELECT srcaddr, count(*) AS records, sum(bytes) AS bytes
FROM {{flows}} WHERE protocol = 17
GROUP BY srcaddr ORDER BY records DESC, srcaddr LIMIT {{p "limit"}}`,
	},
	{
		Name: "skipdata-per-hour", Group: "insights",
		Description: "SKIPDATA records (flow records AWS could not capture) per hour and interface: gaps in coverage.",
		Needs:       []string{"log_status"},
		SQL: `SELECT {{hour "start"}} AS hour, interface_id, count(*) AS skipdata_records
FROM {{flows}} WHERE log_status = 'SKIPDATA'
GROUP BY 1, 2 ORDER BY 1, 2`,
	},
	{
		Name: "rejects-by-source", Group: "insights",
		Description: "Sources with rejected traffic, by rejected records.",
		Params:      []Param{limitParam("20")},
		Needs:       []string{"action"},
		SQL: `SELECT srcaddr, count(*) AS rejected, count(DISTINCT dstport) AS ports, count(DISTINCT dstaddr) AS hosts
FROM {{flows}} WHERE action = 'REJECT'
GROUP BY srcaddr ORDER BY rejected DESC, srcaddr LIMIT {{p "limit"}}`,
	},
}
