package inventory

import (
	"regexp"
	"strings"
)

// EntityType is the kind of resource behind a network interface.
type EntityType string

// Entity types, as printed and as filters name them.
const (
	EC2Instance       EntityType = "ec2"
	NATGatewayType    EntityType = "nat_gateway"
	ALB               EntityType = "alb"
	NLB               EntityType = "nlb"
	ELB               EntityType = "elb" // Classic Load Balancer
	GWLB              EntityType = "gwlb"
	GWLBEndpoint      EntityType = "gwlb_endpoint"
	RDS               EntityType = "rds"
	Lambda            EntityType = "lambda"
	VPCEndpoint       EntityType = "vpc_endpoint"
	ECSTask           EntityType = "ecs_task"
	TGWAttachment     EntityType = "tgw_attachment"
	EFS               EntityType = "efs"
	EKS               EntityType = "eks"
	ElastiCache       EntityType = "elasticache"
	Redshift          EntityType = "redshift"
	APIGateway        EntityType = "api_gateway"
	GlobalAccelerator EntityType = "global_accelerator"
	Directory         EntityType = "directory_service"
	Interface         EntityType = "eni" // an interface nothing more is known about
)

// Entity is the resource behind an address.
type Entity struct {
	Type EntityType `json:"type"`
	// ID is the resource's identifier (instance ID, NAT gateway ID, load
	// balancer name app/NAME/ID, function name...) or the ENI ID.
	ID string `json:"id"`
	// Name is the Name tag or the resource's name when known.
	Name  string `json:"name,omitempty"`
	ENI   string `json:"eni,omitempty"`
	VPCID string `json:"vpc_id,omitempty"`
}

var (
	reELB      = regexp.MustCompile(`^ELB (app|net|gwy)/([^/]+)/([0-9a-f]+)$`)
	reELBClass = regexp.MustCompile(`^ELB ([A-Za-z0-9-]+)$`)
	reNAT      = regexp.MustCompile(`\b(nat-[0-9a-f]+)\b`)
	reVPCE     = regexp.MustCompile(`\b(vpce-[0-9a-f]+)\b`)
	reTGW      = regexp.MustCompile(`\b(tgw-attach-[0-9a-f]+)\b`)
	reEFS      = regexp.MustCompile(`\b(fs-[0-9a-f]+)\b`)
	reLambda   = regexp.MustCompile(`^AWS Lambda VPC ENI-(.+?)(-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$`)
	reECS      = regexp.MustCompile(`^arn:aws[a-z-]*:ecs:[^:]*:[0-9]*:attachment/([0-9a-f-]+)$`)
	reEKS      = regexp.MustCompile(`^Amazon EKS (.+)$`)
)

// EntityOf derives the entity behind an ENI from its interface type,
// requester and description (the conventions AWS services follow when
// they create interfaces). inst is the attached instance, when known,
// for its name.
func EntityOf(e *ENI, inst *Instance) Entity {
	ent := Entity{Type: Interface, ID: e.ID, Name: e.Name, ENI: e.ID, VPCID: e.VPCID}
	d := strings.TrimSpace(e.Description)
	set := func(t EntityType, id string) Entity {
		ent.Type = t
		if id != "" {
			ent.ID = id
		}
		return ent
	}
	switch e.InterfaceType {
	case "nat_gateway":
		return set(NATGatewayType, first(reNAT, d))
	case "vpc_endpoint":
		return set(VPCEndpoint, first(reVPCE, d))
	case "gateway_load_balancer_endpoint":
		return set(GWLBEndpoint, first(reVPCE, d))
	case "transit_gateway":
		return set(TGWAttachment, first(reTGW, d))
	case "lambda":
		return set(Lambda, lambdaName(d))
	case "network_load_balancer", "gateway_load_balancer":
		t := NLB
		if e.InterfaceType == "gateway_load_balancer" {
			t = GWLB
		}
		if m := reELB.FindStringSubmatch(d); m != nil {
			ent = set(t, m[1]+"/"+m[2]+"/"+m[3])
			if ent.Name == "" {
				ent.Name = m[2]
			}
			return ent
		}
		return set(t, "")
	case "api_gateway_managed":
		return set(APIGateway, "")
	case "global_accelerator_managed":
		return set(GlobalAccelerator, "")
	case "branch":
		// ECS awsvpc trunking: a task's interface on a trunk.
		return set(ECSTask, "")
	}
	switch {
	case e.InstanceID != "" && !e.RequesterManaged:
		ent = set(EC2Instance, e.InstanceID)
		if inst != nil && inst.Name != "" {
			ent.Name = inst.Name
		}
		return ent
	case reELB.MatchString(d):
		m := reELB.FindStringSubmatch(d)
		t := map[string]EntityType{"app": ALB, "net": NLB, "gwy": GWLB}[m[1]]
		ent = set(t, m[1]+"/"+m[2]+"/"+m[3])
		if ent.Name == "" {
			ent.Name = m[2]
		}
		return ent
	case reELBClass.MatchString(d) && (e.RequesterID == "amazon-elb" || e.RequesterManaged):
		ent = set(ELB, reELBClass.FindStringSubmatch(d)[1])
		if ent.Name == "" {
			ent.Name = ent.ID
		}
		return ent
	case d == "RDSNetworkInterface" || e.RequesterID == "amazon-rds":
		return set(RDS, "")
	case strings.HasPrefix(d, "AWS Lambda VPC ENI"):
		return set(Lambda, lambdaName(d))
	case strings.HasPrefix(d, "VPC Endpoint Interface"):
		return set(VPCEndpoint, first(reVPCE, d))
	case strings.HasPrefix(d, "Interface for NAT Gateway"):
		return set(NATGatewayType, first(reNAT, d))
	case strings.HasPrefix(d, "Network Interface for Transit Gateway Attachment"):
		return set(TGWAttachment, first(reTGW, d))
	case strings.HasPrefix(d, "EFS mount target"):
		return set(EFS, first(reEFS, d))
	case reECS.MatchString(d):
		return set(ECSTask, reECS.FindStringSubmatch(d)[1])
	case reEKS.MatchString(d):
		ent = set(EKS, "")
		if ent.Name == "" {
			ent.Name = reEKS.FindStringSubmatch(d)[1]
		}
		return ent
	case strings.HasPrefix(d, "ElastiCache"):
		return set(ElastiCache, strings.TrimSpace(strings.TrimPrefix(d, "ElastiCache")))
	case d == "RedshiftNetworkInterface" || e.RequesterID == "amazon-redshift":
		return set(Redshift, "")
	case strings.HasPrefix(d, "AWS created network interface for directory"):
		return set(Directory, strings.TrimSpace(strings.TrimPrefix(d, "AWS created network interface for directory")))
	}
	return ent
}

func first(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

func lambdaName(d string) string {
	if m := reLambda.FindStringSubmatch(d); m != nil {
		return m[1]
	}
	return ""
}
