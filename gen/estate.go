package gen

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
)

// role is what an interface does in the estate; it decides its traffic.
type role uint8

const (
	roleWeb     role = iota // web server in a private subnet, behind the load balancer
	roleApp                 // application server
	roleWorker              // batch worker
	roleBastion             // SSH bastion with a public address
	rolePubWeb              // web server with a public address, ports 80/443 open
	roleDC                  // Windows domain controller and DNS server
	roleJump                // Windows jump host reached over RDP from the bastion
	roleOutpost             // application server on an Outpost
	roleNAT                 // NAT gateway
	roleALB                 // application load balancer node
	roleRDS                 // RDS database
	roleLambda              // Lambda function ENI
	roleECS                 // ECS task ENI (awsvpc mode)
	roleVPCE                // interface VPC endpoint
	roleTGW                 // transit gateway attachment
	numRoles
)

var roleNames = [numRoles]string{"web", "app", "worker", "bastion", "public-web", "domain-controller", "jump-host",
	"outpost-app", "nat-gateway", "load-balancer", "rds", "lambda", "ecs-task", "vpc-endpoint", "tgw-attachment"}

func (r role) String() string { return roleNames[r] }

// addr is an address with its text form rendered once.
type addr struct {
	ip    netip.Addr
	text  string
	owner *iface // interface holding the address; nil outside the estate
	svc   string // AWS service owning the address (pkt-*-aws-service)
}

type account struct {
	id   string
	vpcs []*vpc
}

type subnet struct {
	id         string
	vpc        *vpc
	az         int
	azID       string
	cidr       netip.Prefix
	cidr6      netip.Prefix
	public     bool
	sublocType string
	sublocID   string
}

type vpc struct {
	idx        int
	env        string
	id         string
	acct       *account
	cidr       netip.Prefix
	cidr6      netip.Prefix
	flowLogID  string
	attachID   string // transit gateway attachment
	s3Endpoint bool   // S3 reached through a gateway endpoint rather than NAT
	bpa        bool   // VPC Block Public Access in ingress mode
	subnets    []*subnet
	public     []*subnet // one per AZ
	private    []*subnet // one per AZ
	data       []*subnet // one per AZ
	nats       []*iface  // one per AZ
	tgw        []*iface  // one per AZ
	byRole     [numRoles][]*iface
}

type ecsInfo struct {
	clusterARN, clusterName         string
	containerInstARN, containerInst string
	container1, container2          string
	service, taskDefARN, taskARN    string
	taskID                          string
}

// iface is a network interface; records are written from its point of view.
type iface struct {
	id         string
	role       role
	name       string
	vpc        *vpc
	subnet     *subnet
	acct       *account
	v4         *addr
	v6         *addr // nil when the interface has no IPv6 address
	pub        *addr // public IPv4 or nil
	instanceID string
	resourceID string
	ifType     string
	tags       [6]string // instance-tag, instance-tag-2, interface-tag, interface-tag-2, asg-tag, asg-tag-2
	ecs        *ecsInfo
	nitro      bool
	windows    bool
	idle       bool
	dbPort     int32
	nat        *iface // NAT gateway serving the interface's AZ
}

func (f *iface) az() string { return f.subnet.azID }

// estate is the modelled AWS environment and the outside world it talks to.
type estate struct {
	r        *rand.Rand
	region   string
	azPrefix string
	tgwID    string
	accounts []*account
	vpcs     []*vpc
	ifaces   []*iface // every interface, in creation order
	used     map[netip.Addr]bool

	compute []*iface // interfaces that originate traffic (hosts, tasks, functions)
	public  []*iface // instances with public addresses
	albs    []*iface
	idle    []*iface
	logging []*iface // interfaces that write records

	ext4, ext6         []*addr // destinations, shuffled; popularity follows rank
	clients4, clients6 []*addr // users of the load balancers
	noise4, noise6     []*addr // internet background scanners
	admin              []*addr // office addresses of the administrators
	resolvers          []*addr
	ntp                []*addr
	s3                 []*addr
}

func newEstate(cfg Config) *estate {
	e := &estate{
		r:        rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)),
		region:   cfg.Region,
		azPrefix: azPrefix(cfg.Region),
		used:     make(map[netip.Addr]bool),
	}
	e.tgwID = e.hexID("tgw-")
	envs := []string{"prod", "staging", "dev", "test", "shared", "sandbox"}
	n := 0
	for a := 0; a < cfg.Accounts; a++ {
		acct := &account{id: strconv.FormatUint(100000000000+e.r.Uint64N(899999999999), 10)}
		e.accounts = append(e.accounts, acct)
		for v := 0; v < cfg.VPCsPerAccount; v++ {
			env := envs[v%len(envs)]
			if v >= len(envs) {
				env += strconv.Itoa(v / len(envs))
			}
			if cfg.Accounts > 1 {
				env = fmt.Sprintf("%s-%d", env, a+1)
			}
			vp := e.buildVPC(cfg, acct, n, env)
			acct.vpcs = append(acct.vpcs, vp)
			e.vpcs = append(e.vpcs, vp)
			n++
		}
	}
	for _, f := range e.ifaces {
		if f.role == roleTGW {
			continue
		}
		e.logging = append(e.logging, f)
		switch {
		case f.idle:
			e.idle = append(e.idle, f)
		case f.role == roleALB:
			e.albs = append(e.albs, f)
		case f.role == roleBastion || f.role == rolePubWeb:
			e.public = append(e.public, f)
		}
		if !f.idle && (f.role <= roleWorker || f.role == roleOutpost || f.role == roleECS || f.role == roleLambda ||
			f.role == roleDC || f.role == roleJump) {
			e.compute = append(e.compute, f)
		}
	}
	shuffle(e.r, e.compute)
	e.buildWorld(cfg)
	return e
}

func shuffle[T any](r *rand.Rand, s []T) {
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
}

// azPrefix turns a region name into the prefix of its AZ IDs:
// us-east-1 -> use1, ap-southeast-2 -> apse2, eu-central-1 -> euc1.
func azPrefix(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) < 3 {
		return "use1"
	}
	dirs := map[string]string{"east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
		"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}
	var sb strings.Builder
	sb.WriteString(parts[0])
	for _, p := range parts[1 : len(parts)-1] {
		if d, ok := dirs[p]; ok {
			sb.WriteString(d)
		} else if p != "" {
			sb.WriteByte(p[0])
		}
	}
	sb.WriteString(parts[len(parts)-1])
	return sb.String()
}

const hexDigits = "0123456789abcdef"

// hexID returns prefix followed by 17 random hex digits, AWS's id shape.
func (e *estate) hexID(prefix string) string { return prefix + e.hex(17) }

func (e *estate) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[e.r.IntN(16)]
	}
	return string(b)
}

func (e *estate) newAddr(ip netip.Addr, owner *iface, svc string) *addr {
	e.used[ip] = true
	return &addr{ip: ip, text: ip.String(), owner: owner, svc: svc}
}

// hostIn picks an unused IPv4 address in p, skipping the four addresses AWS
// reserves at the start of a subnet and the broadcast address.
func (e *estate) hostIn(p netip.Prefix) netip.Addr {
	base := p.Addr().As4()
	size := uint32(1) << (32 - p.Bits())
	b := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	for {
		x := b + 4 + e.r.Uint32N(size-5)
		ip := netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
		if !e.used[ip] {
			return ip
		}
	}
}

// host6In picks an address in the /64 p with a random interface identifier.
func (e *estate) host6In(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	for {
		lo := e.r.Uint64()
		for i := 0; i < 8; i++ {
			b[8+i] = byte(lo >> (56 - 8*i))
		}
		ip := netip.AddrFrom16(b)
		if !e.used[ip] {
			return ip
		}
	}
}

// v6Prefix is the Amazon IPv6 block VPC ranges come from in each region.
func v6Prefix(region string) [4]byte {
	switch region {
	case "us-east-1":
		return [4]byte{0x26, 0x00, 0x1f, 0x18}
	case "us-west-2":
		return [4]byte{0x26, 0x00, 0x1f, 0x14}
	case "eu-west-1":
		return [4]byte{0x2a, 0x05, 0xd0, 0x18}
	}
	return [4]byte{0x26, 0x00, 0x1f, 0x1c}
}

func (e *estate) buildVPC(cfg Config, acct *account, n int, env string) *vpc {
	v := &vpc{idx: n, env: env, acct: acct}
	v.id = e.hexID("vpc-")
	v.flowLogID = e.hexID("fl-")
	v.attachID = e.hexID("tgw-attach-")
	v.s3Endpoint = n%2 == 0
	v.bpa = strings.HasPrefix(env, "staging")
	v.cidr = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n), 0, 0}), 16)
	p6 := v6Prefix(cfg.Region)
	var b16 [16]byte
	copy(b16[:4], p6[:])
	b16[4], b16[5], b16[6] = byte(e.r.IntN(256)), byte(e.r.IntN(256)), byte(e.r.IntN(256))
	v.cidr6 = netip.PrefixFrom(netip.AddrFrom16(b16), 56)

	addSubnet := func(cidr netip.Prefix, az int, public bool) *subnet {
		b := v.cidr6.Addr().As16()
		b[7] = byte(len(v.subnets))
		s := &subnet{
			id: e.hexID("subnet-"), vpc: v, az: az, azID: fmt.Sprintf("%s-az%d", e.azPrefix, az+1),
			cidr: cidr, cidr6: netip.PrefixFrom(netip.AddrFrom16(b), 64), public: public,
		}
		v.subnets = append(v.subnets, s)
		return s
	}
	for az := 0; az < cfg.AZs; az++ {
		v.public = append(v.public, addSubnet(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n), byte(az), 0}), 24), az, true))
		v.private = append(v.private, addSubnet(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n), byte(16 * (az + 1)), 0}), 20), az, false))
		v.data = append(v.data, addSubnet(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n), byte(200 + az), 0}), 24), az, false))
	}
	var outpost *subnet
	if n == 0 {
		outpost = addSubnet(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n), 250, 0}), 24), 0, false)
		outpost.sublocType, outpost.sublocID = "outpost", e.hexID("op-")
	}

	// Gateways first: every private interface needs its AZ's NAT gateway.
	for az := 0; az < cfg.AZs; az++ {
		nat := e.newIface(v, v.public[az], roleNAT, fmt.Sprintf("%s-nat-%c", env, 'a'+az))
		nat.ifType, nat.resourceID, nat.instanceID = "nat_gateway", e.hexID("nat-"), ""
		nat.pub = e.newAddr(e.publicIP(), nat, "")
		nat.v6 = nil
		nat.tags = [6]string{}
		v.nats = append(v.nats, nat)
		tg := e.newIface(v, v.private[az], roleTGW, fmt.Sprintf("%s-tgw-%c", env, 'a'+az))
		tg.ifType, tg.resourceID, tg.instanceID, tg.v6 = "transit_gateway", v.attachID, "", nil
		tg.tags = [6]string{}
		v.tgw = append(v.tgw, tg)
	}

	// Instances.
	type slot struct {
		r   role
		sub func(i int) *subnet
	}
	pub := func(i int) *subnet { return v.public[i%cfg.AZs] }
	priv := func(i int) *subnet { return v.private[i%cfg.AZs] }
	var slots []slot
	slots = append(slots, slot{roleBastion, pub}, slot{rolePubWeb, pub}, slot{rolePubWeb, pub},
		slot{roleDC, priv}, slot{roleDC, priv}, slot{roleJump, priv})
	if outpost != nil {
		slots = append(slots, slot{roleOutpost, func(int) *subnet { return outpost }}, slot{roleOutpost, func(int) *subnet { return outpost }})
	}
	rest := cfg.Instances - len(slots)
	nWeb := rest / 4
	nApp := rest * 2 / 5
	for i := 0; i < rest; i++ {
		r := roleWorker
		if i < nWeb {
			r = roleWeb
		} else if i < nWeb+nApp {
			r = roleApp
		}
		slots = append(slots, slot{r, priv})
	}
	count := map[role]int{}
	for _, s := range slots {
		count[s.r]++
		name := fmt.Sprintf("%s-%s-%02d", env, s.r, count[s.r])
		f := e.newIface(v, s.sub(count[s.r]-1), s.r, name)
		f.instanceID = e.hexID("i-")
		f.nitro = e.r.IntN(10) != 0
		f.windows = s.r == roleDC || s.r == roleJump
		team := [...]string{"platform", "payments", "search", "data"}[e.r.IntN(4)]
		f.tags = [6]string{name, env, name + "-eth0", team, "", ""}
		if s.r == roleWeb || s.r == roleApp || s.r == roleWorker {
			f.tags[4], f.tags[5] = fmt.Sprintf("%s-%s-asg", env, s.r), env
		}
		if s.r == roleBastion || s.r == rolePubWeb {
			f.pub = e.newAddr(e.publicIP(), f, "")
		}
	}

	// Managed interfaces.
	lbSuffix := e.hex(16)
	for az := 0; az < cfg.AZs; az++ {
		f := e.newIface(v, v.public[az], roleALB, fmt.Sprintf("%s-alb", env))
		f.ifType, f.instanceID = "load_balancer", ""
		f.resourceID = fmt.Sprintf("app/%s-alb/%s", env, lbSuffix)
		f.pub = e.newAddr(e.publicIP(), f, "")
		f.tags = [6]string{}
	}
	for i, db := range []struct {
		name string
		port int32
		idle bool
	}{{"postgres", 5432, false}, {"postgres-standby", 5432, true}, {"mysql", 3306, false}} {
		f := e.newIface(v, v.data[i%cfg.AZs], roleRDS, fmt.Sprintf("%s-%s", env, db.name))
		f.ifType, f.instanceID, f.v6 = "interface", "", nil
		f.dbPort, f.idle = db.port, db.idle
		f.tags = [6]string{}
	}
	for i := 0; i < 4; i++ {
		f := e.newIface(v, v.private[i%cfg.AZs], roleLambda, fmt.Sprintf("%s-lambda-%d", env, i+1))
		f.ifType, f.instanceID = "lambda", ""
		f.idle = i == 3
		f.tags = [6]string{}
	}
	cluster := env + "-cluster"
	clusterARN := fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", cfg.Region, acct.id, cluster)
	services := []string{"api", "frontend", "worker"}
	for i := 0; i < 6; i++ {
		svc := services[i%len(services)]
		f := e.newIface(v, v.private[i%cfg.AZs], roleECS, fmt.Sprintf("%s-%s-task-%d", env, svc, i+1))
		f.ifType, f.instanceID = "interface", ""
		taskID := e.hex(32)
		ec := &ecsInfo{
			clusterARN: clusterARN, clusterName: cluster,
			container1: e.hex(64), service: svc,
			taskDefARN: fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s-%s:%d", cfg.Region, acct.id, env, svc, 3+e.r.IntN(60)),
			taskARN:    fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", cfg.Region, acct.id, cluster, taskID),
			taskID:     taskID,
		}
		if i%3 != 2 {
			ec.container2 = e.hex(64) // a sidecar
		}
		if i >= 4 { // EC2 launch type: the task runs on a container instance
			ec.containerInst = e.hex(32)
			ec.containerInstARN = fmt.Sprintf("arn:aws:ecs:%s:%s:container-instance/%s/%s", cfg.Region, acct.id, cluster, ec.containerInst)
			f.instanceID = v.byRole[roleWorker][i%len(v.byRole[roleWorker])].instanceID
		}
		f.ecs = ec
		f.tags = [6]string{"", "", f.name, "", "", ""}
	}
	for i, svc := range []string{"secretsmanager", "ssm"} {
		f := e.newIface(v, v.private[i%cfg.AZs], roleVPCE, fmt.Sprintf("%s-vpce-%s", env, svc))
		f.ifType, f.instanceID, f.resourceID = "vpc_endpoint", "", e.hexID("vpce-")
		f.tags = [6]string{}
	}
	return v
}

func (e *estate) newIface(v *vpc, s *subnet, r role, name string) *iface {
	f := &iface{id: e.hexID("eni-"), role: r, name: name, vpc: v, subnet: s, acct: v.acct, ifType: "interface", nitro: true}
	f.v4 = e.newAddr(e.hostIn(s.cidr), f, "")
	f.v6 = e.newAddr(e.host6In(s.cidr6), f, "")
	if s.az < len(v.nats) {
		f.nat = v.nats[s.az]
	}
	v.byRole[r] = append(v.byRole[r], f)
	e.ifaces = append(e.ifaces, f)
	return f
}

// Public IPv4 blocks Amazon assigns to instances, NAT gateways and load
// balancers (first octet, second octet range).
var elasticBlocks = [][3]int{{3, 80, 239}, {18, 204, 215}, {34, 192, 239}, {44, 192, 223}, {52, 0, 95}, {54, 80, 240}}

func (e *estate) publicIP() netip.Addr {
	for {
		b := elasticBlocks[e.r.IntN(len(elasticBlocks))]
		ip := netip.AddrFrom4([4]byte{byte(b[0]), byte(b[1] + e.r.IntN(b[2]-b[1]+1)), byte(e.r.IntN(256)), byte(1 + e.r.IntN(254))})
		if !e.used[ip] {
			return ip
		}
	}
}

// First octets of public unicast space used for generic internet hosts.
// Private, shared, documentation, multicast and reserved blocks are absent.
var publicOctets = []byte{2, 5, 8, 12, 20, 23, 24, 31, 37, 38, 45, 46, 47, 50, 62, 64, 66, 69, 72, 74, 77, 78,
	80, 81, 82, 85, 87, 88, 89, 91, 93, 94, 95, 104, 107, 108, 128, 130, 138, 140, 141, 142, 143, 146, 151, 152,
	157, 162, 163, 167, 173, 176, 178, 185, 188, 193, 194, 195, 199, 204, 205, 207, 208, 209, 212, 213, 216, 217}

// externalIP returns an unused generic internet address.
func (e *estate) externalIP() netip.Addr {
	for {
		ip := netip.AddrFrom4([4]byte{publicOctets[e.r.IntN(len(publicOctets))], byte(e.r.IntN(256)), byte(e.r.IntN(256)), byte(1 + e.r.IntN(254))})
		if !e.used[ip] {
			return ip
		}
	}
}

// inBlock returns an unused address in the IPv4 block p.
func (e *estate) inBlock(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	base := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	size := uint32(1) << (32 - p.Bits())
	for {
		x := base + 1 + e.r.Uint32N(size-2)
		ip := netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
		if !e.used[ip] && byte(x) != 0 && byte(x) != 255 {
			return ip
		}
	}
}

// net6 is a large IPv6 network: its first four bytes and, for Amazon's,
// the service name.
type net6 struct {
	p   [4]byte
	svc string
}

// IPv6 networks of content providers and clouds (destinations), consumer
// ISPs (load balancer clients) and hosting providers (scanners).
var (
	servers6 = []net6{
		{[4]byte{0x26, 0x06, 0x47, 0x00}, ""}, {[4]byte{0x2a, 0x00, 0x14, 0x50}, ""},
		{[4]byte{0x26, 0x00, 0x90, 0x00}, "CLOUDFRONT"}, {[4]byte{0x2a, 0x03, 0x28, 0x80}, ""},
		{[4]byte{0x26, 0x20, 0x01, 0xec}, ""}, {[4]byte{0x26, 0x04, 0xa8, 0x80}, ""},
		{[4]byte{0x24, 0x06, 0xda, 0x00}, "AMAZON"}, {[4]byte{0x2a, 0x01, 0x04, 0xf8}, ""},
	}
	consumers6 = []net6{
		{[4]byte{0x26, 0x00, 0x17, 0x00}, ""}, {[4]byte{0x26, 0x01, 0x01, 0x80}, ""},
		{[4]byte{0x20, 0x03, 0x00, 0xe5}, ""}, {[4]byte{0x2a, 0x01, 0x0e, 0x0a}, ""},
		{[4]byte{0x24, 0x09, 0x00, 0x10}, ""}, {[4]byte{0x2a, 0x02, 0x0c, 0x7c}, ""},
	}
	hosting6 = []net6{
		{[4]byte{0x2a, 0x01, 0x04, 0xf8}, ""}, {[4]byte{0x26, 0x04, 0xa8, 0x80}, ""},
		{[4]byte{0x20, 0x01, 0x04, 0x70}, ""}, {[4]byte{0x2a, 0x0e, 0x97, 0xc0}, ""},
	}
)

// external6 returns an unused address in one of nets and the AWS service
// owning it, if any.
func (e *estate) external6(nets []net6) (netip.Addr, string) {
	for {
		n := nets[e.r.IntN(len(nets))]
		var b [16]byte
		copy(b[:4], n.p[:])
		b[5] = byte(e.r.IntN(16))
		b[7] = byte(e.r.IntN(256))
		if e.r.IntN(2) == 0 {
			b[15] = byte(1 + e.r.IntN(254)) // servers often have short interface identifiers
			b[14] = byte(e.r.IntN(4))
		} else {
			lo := e.r.Uint64()
			for i := 0; i < 8; i++ {
				b[8+i] = byte(lo >> (56 - 8*i))
			}
		}
		ip := netip.AddrFrom16(b)
		if !e.used[ip] {
			return ip, n.svc
		}
	}
}

// AWS service blocks that show up as destinations.
var serviceBlocks = []struct {
	p   netip.Prefix
	svc string
}{
	{netip.MustParsePrefix("13.224.0.0/14"), "CLOUDFRONT"},
	{netip.MustParsePrefix("99.84.0.0/16"), "CLOUDFRONT"},
	{netip.MustParsePrefix("52.94.0.0/22"), "AMAZON"},
	{netip.MustParsePrefix("3.218.180.0/22"), "DYNAMODB"},
	{netip.MustParsePrefix("54.239.0.0/17"), "EC2"},
	{netip.MustParsePrefix("52.46.128.0/19"), "AMAZON"},
}

// buildWorld makes the outside address pools.
func (e *estate) buildWorld(cfg Config) {
	for _, s := range []string{"8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9"} {
		e.resolvers = append(e.resolvers, e.newAddr(netip.MustParseAddr(s), nil, ""))
	}
	n4 := cfg.ExternalHosts
	for i := 0; i < n4; i++ {
		if i%7 == 3 {
			b := serviceBlocks[e.r.IntN(len(serviceBlocks))]
			e.ext4 = append(e.ext4, e.newAddr(e.inBlock(b.p), nil, b.svc))
			continue
		}
		e.ext4 = append(e.ext4, e.newAddr(e.externalIP(), nil, ""))
	}
	shuffle(e.r, e.ext4)
	for i := 0; i < max(n4/4, 4); i++ {
		ip, svc := e.external6(servers6)
		e.ext6 = append(e.ext6, e.newAddr(ip, nil, svc))
	}
	for i := 0; i < max(n4/2, 8); i++ {
		e.clients4 = append(e.clients4, e.newAddr(e.externalIP(), nil, ""))
	}
	for i := 0; i < max(n4/8, 4); i++ {
		ip, _ := e.external6(consumers6)
		e.clients6 = append(e.clients6, e.newAddr(ip, nil, ""))
	}
	for i := 0; i < max(n4/4, 8); i++ {
		e.noise4 = append(e.noise4, e.newAddr(e.externalIP(), nil, ""))
	}
	for i := 0; i < max(n4/40, 4); i++ {
		ip, _ := e.external6(hosting6)
		e.noise6 = append(e.noise6, e.newAddr(ip, nil, ""))
	}
	for i := 0; i < 3; i++ {
		e.admin = append(e.admin, e.newAddr(e.externalIP(), nil, ""))
	}
	for i := 0; i < 16; i++ {
		e.ntp = append(e.ntp, e.newAddr(e.externalIP(), nil, ""))
	}
	s3Blocks := []netip.Prefix{netip.MustParsePrefix("52.216.0.0/15"), netip.MustParsePrefix("3.5.0.0/19"), netip.MustParsePrefix("54.231.0.0/16")}
	for i := 0; i < 64; i++ {
		e.s3 = append(e.s3, e.newAddr(e.inBlock(s3Blocks[i%len(s3Blocks)]), nil, "S3"))
	}
}
