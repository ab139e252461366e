package gen

import (
	"strconv"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// fcode identifies a field for rendering; the switch on it compiles to a
// jump table, which a switch on the catalog's variable IDs would not.
type fcode uint8

const (
	fUnknown fcode = iota
	fVersion
	fAccountID
	fInterfaceID
	fSrcAddr
	fDstAddr
	fSrcPort
	fDstPort
	fProtocol
	fPackets
	fBytes
	fStart
	fEnd
	fAction
	fLogStatus
	fVPCID
	fSubnetID
	fInstanceID
	fTCPFlags
	fType
	fPktSrcAddr
	fPktDstAddr
	fRegion
	fAZID
	fSublocType
	fSublocID
	fPktSrcSvc
	fPktDstSvc
	fFlowDir
	fTrafficPath
	fECSClusterARN
	fECSClusterName
	fECSContainerInstARN
	fECSContainerInstID
	fECSContainerID
	fECSSecondContainerID
	fECSServiceName
	fECSTaskDefARN
	fECSTaskARN
	fECSTaskID
	fRejectReason
	fResourceID
	fEncryption
	fInstanceTag
	fInstanceTag2
	fInterfaceTag
	fInterfaceTag2
	fASGTag
	fASGTag2
	fInterfaceType
	fNextHopInterfaceID
	fNextHopSubnetID
	fNextHopAZID
	fNextHopVPCID
	fNextHopInterfaceType
	fResourceType
	fTGWID
	fTGWAttachmentID
	fTGWSrcAccount
	fTGWDstAccount
	fTGWSrcVPC
	fTGWDstVPC
	fTGWSrcSubnet
	fTGWDstSubnet
	fTGWSrcENI
	fTGWDstENI
	fTGWSrcAZ
	fTGWDstAZ
	fTGWPairAttachment
	fLostNoRoute
	fLostBlackhole
	fLostMTU
	fLostTTL
)

var fieldCodes = map[string]fcode{
	"version": fVersion, "account-id": fAccountID, "interface-id": fInterfaceID, "srcaddr": fSrcAddr,
	"dstaddr": fDstAddr, "srcport": fSrcPort, "dstport": fDstPort, "protocol": fProtocol, "packets": fPackets,
	"bytes": fBytes, "start": fStart, "end": fEnd, "action": fAction, "log-status": fLogStatus,
	"vpc-id": fVPCID, "subnet-id": fSubnetID, "instance-id": fInstanceID, "tcp-flags": fTCPFlags, "type": fType,
	"pkt-srcaddr": fPktSrcAddr, "pkt-dstaddr": fPktDstAddr, "region": fRegion, "az-id": fAZID,
	"sublocation-type": fSublocType, "sublocation-id": fSublocID, "pkt-src-aws-service": fPktSrcSvc,
	"pkt-dst-aws-service": fPktDstSvc, "flow-direction": fFlowDir, "traffic-path": fTrafficPath,
	"ecs-cluster-arn": fECSClusterARN, "ecs-cluster-name": fECSClusterName,
	"ecs-container-instance-arn": fECSContainerInstARN, "ecs-container-instance-id": fECSContainerInstID,
	"ecs-container-id": fECSContainerID, "ecs-second-container-id": fECSSecondContainerID,
	"ecs-service-name": fECSServiceName, "ecs-task-definition-arn": fECSTaskDefARN, "ecs-task-arn": fECSTaskARN,
	"ecs-task-id": fECSTaskID, "reject-reason": fRejectReason, "resource-id": fResourceID,
	"encryption-status": fEncryption, "instance-tag": fInstanceTag, "instance-tag-2": fInstanceTag2,
	"interface-tag": fInterfaceTag, "interface-tag-2": fInterfaceTag2, "asg-tag": fASGTag, "asg-tag-2": fASGTag2,
	"interface-type": fInterfaceType, "next-hop-interface-id": fNextHopInterfaceID,
	"next-hop-subnet-id": fNextHopSubnetID, "next-hop-az-id": fNextHopAZID, "next-hop-vpc-id": fNextHopVPCID,
	"next-hop-interface-type": fNextHopInterfaceType, "resource-type": fResourceType, "tgw-id": fTGWID,
	"tgw-attachment-id": fTGWAttachmentID, "tgw-src-vpc-account-id": fTGWSrcAccount,
	"tgw-dst-vpc-account-id": fTGWDstAccount, "tgw-src-vpc-id": fTGWSrcVPC, "tgw-dst-vpc-id": fTGWDstVPC,
	"tgw-src-subnet-id": fTGWSrcSubnet, "tgw-dst-subnet-id": fTGWDstSubnet, "tgw-src-eni": fTGWSrcENI,
	"tgw-dst-eni": fTGWDstENI, "tgw-src-az-id": fTGWSrcAZ, "tgw-dst-az-id": fTGWDstAZ,
	"tgw-pair-attachment-id": fTGWPairAttachment, "packets-lost-no-route": fLostNoRoute,
	"packets-lost-blackhole": fLostBlackhole, "packets-lost-mtu-exceeded": fLostMTU,
	"packets-lost-ttl-expired": fLostTTL,
}

// renderer writes records in one format.
type renderer struct {
	codes   []fcode
	version int64
	tgwID   string
	region  string
}

func newRenderer(f *flowlog.Format, tgwID, region string) *renderer {
	rd := &renderer{version: 2, tgwID: tgwID, region: region}
	for _, id := range f.IDs {
		c := fUnknown
		if id >= 0 {
			fd := schema.Fields[id]
			c = fieldCodes[fd.Token]
			rd.version = max(rd.version, int64(fd.Version))
		}
		rd.codes = append(rd.codes, c)
	}
	return rd
}

func appendStr(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return append(b, s...)
}

func appendAddr(b []byte, a *addr) []byte {
	if a == nil {
		return append(b, '-')
	}
	return append(b, a.text...)
}

// side is the interface at one end of a record: the owner of the address
// when it is in the estate, else the interface the record was taken on.
func side(a *addr, r *rec) *iface {
	if a != nil && a.owner != nil {
		return a.owner
	}
	return r.eni
}

// appendRecord renders r as one line, newline included.
func (rd *renderer) appendRecord(b []byte, r *rec) []byte {
	f := r.eni
	ok := r.status == stOK
	for i, c := range rd.codes {
		if i > 0 {
			b = append(b, ' ')
		}
		// Traffic fields are '-' in NODATA and SKIPDATA records.
		if !ok && c >= fSrcAddr && c != fStart && c != fEnd && c != fLogStatus && !interfaceField(c) {
			b = append(b, '-')
			continue
		}
		switch c {
		case fVersion:
			b = strconv.AppendInt(b, rd.version, 10)
		case fAccountID:
			b = append(b, f.acct.id...)
		case fInterfaceID:
			b = append(b, f.id...)
		case fSrcAddr:
			b = appendAddr(b, r.src)
		case fDstAddr:
			b = appendAddr(b, r.dst)
		case fSrcPort:
			b = strconv.AppendInt(b, int64(r.sport), 10)
		case fDstPort:
			b = strconv.AppendInt(b, int64(r.dport), 10)
		case fProtocol:
			b = strconv.AppendInt(b, int64(r.proto), 10)
		case fPackets:
			b = strconv.AppendInt(b, r.packets, 10)
		case fBytes:
			b = strconv.AppendInt(b, r.bytes, 10)
		case fStart:
			b = strconv.AppendInt(b, r.start, 10)
		case fEnd:
			b = strconv.AppendInt(b, r.end, 10)
		case fAction:
			if r.reject {
				b = append(b, "REJECT"...)
			} else {
				b = append(b, "ACCEPT"...)
			}
		case fLogStatus:
			b = append(b, [...]string{"OK", "NODATA", "SKIPDATA"}[r.status]...)
		case fVPCID:
			b = append(b, f.vpc.id...)
		case fSubnetID:
			b = append(b, f.subnet.id...)
		case fInstanceID:
			b = appendStr(b, f.instanceID)
		case fTCPFlags:
			b = strconv.AppendInt(b, int64(r.flags), 10)
		case fType:
			if r.src.ip.Is6() {
				b = append(b, "IPv6"...)
			} else {
				b = append(b, "IPv4"...)
			}
		case fPktSrcAddr:
			b = appendAddr(b, r.psrc)
		case fPktDstAddr:
			b = appendAddr(b, r.pdst)
		case fRegion:
			b = append(b, rd.region...)
		case fAZID:
			b = append(b, f.subnet.azID...)
		case fSublocType:
			b = appendStr(b, f.subnet.sublocType)
		case fSublocID:
			b = appendStr(b, f.subnet.sublocID)
		case fPktSrcSvc:
			b = appendStr(b, r.psrc.svc)
		case fPktDstSvc:
			b = appendStr(b, r.pdst.svc)
		case fFlowDir:
			if r.egress {
				b = append(b, "egress"...)
			} else {
				b = append(b, "ingress"...)
			}
		case fTrafficPath:
			if r.path == 0 {
				b = append(b, '-')
			} else {
				b = strconv.AppendInt(b, int64(r.path), 10)
			}
		case fECSClusterARN, fECSClusterName, fECSContainerInstARN, fECSContainerInstID, fECSContainerID,
			fECSSecondContainerID, fECSServiceName, fECSTaskDefARN, fECSTaskARN, fECSTaskID:
			b = appendECS(b, f.ecs, c)
		case fRejectReason:
			if r.reject && r.bpa {
				b = append(b, "BPA"...)
			} else {
				b = append(b, '-')
			}
		case fResourceID:
			b = appendStr(b, f.resourceID)
		case fEncryption:
			b = strconv.AppendInt(b, int64(r.enc), 10)
		case fInstanceTag, fInstanceTag2, fInterfaceTag, fInterfaceTag2, fASGTag, fASGTag2:
			b = appendStr(b, f.tags[c-fInstanceTag])
		case fInterfaceType:
			b = append(b, f.ifType...)
		case fNextHopInterfaceID, fNextHopSubnetID, fNextHopAZID, fNextHopVPCID, fNextHopInterfaceType:
			b = appendNextHop(b, r.nextHop, c)
		case fResourceType:
			b = append(b, "TransitGateway"...)
		case fTGWID:
			b = append(b, rd.tgwID...)
		case fTGWAttachmentID:
			b = append(b, f.vpc.attachID...)
		case fTGWSrcAccount:
			b = append(b, side(r.src, r).acct.id...)
		case fTGWDstAccount:
			b = append(b, side(r.dst, r).acct.id...)
		case fTGWSrcVPC:
			b = append(b, side(r.src, r).vpc.id...)
		case fTGWDstVPC:
			b = append(b, side(r.dst, r).vpc.id...)
		case fTGWSrcSubnet:
			b = append(b, side(r.src, r).subnet.id...)
		case fTGWDstSubnet:
			b = append(b, side(r.dst, r).subnet.id...)
		case fTGWSrcENI:
			b = append(b, side(r.src, r).id...)
		case fTGWDstENI:
			b = append(b, side(r.dst, r).id...)
		case fTGWSrcAZ:
			b = append(b, side(r.src, r).subnet.azID...)
		case fTGWDstAZ:
			b = append(b, side(r.dst, r).subnet.azID...)
		case fTGWPairAttachment:
			b = append(b, side(r.dst, r).vpc.attachID...)
		case fLostNoRoute:
			b = strconv.AppendInt(b, r.lost, 10)
		case fLostBlackhole, fLostMTU, fLostTTL:
			b = append(b, '0')
		default:
			b = append(b, '-')
		}
	}
	return append(b, '\n')
}

// interfaceField reports whether c describes the interface rather than the
// traffic; such fields keep their values in NODATA and SKIPDATA records.
func interfaceField(c fcode) bool {
	switch c {
	case fVPCID, fSubnetID, fInstanceID, fRegion, fAZID, fSublocType, fSublocID, fResourceID,
		fInstanceTag, fInstanceTag2, fInterfaceTag, fInterfaceTag2, fASGTag, fASGTag2, fInterfaceType,
		fResourceType, fTGWID, fTGWAttachmentID:
		return true
	}
	return c >= fECSClusterARN && c <= fECSTaskID
}

func appendECS(b []byte, e *ecsInfo, c fcode) []byte {
	if e == nil {
		return append(b, '-')
	}
	var s string
	switch c {
	case fECSClusterARN:
		s = e.clusterARN
	case fECSClusterName:
		s = e.clusterName
	case fECSContainerInstARN:
		s = e.containerInstARN
	case fECSContainerInstID:
		s = e.containerInst
	case fECSContainerID:
		s = e.container1
	case fECSSecondContainerID:
		s = e.container2
	case fECSServiceName:
		s = e.service
	case fECSTaskDefARN:
		s = e.taskDefARN
	case fECSTaskARN:
		s = e.taskARN
	case fECSTaskID:
		s = e.taskID
	}
	return appendStr(b, s)
}

func appendNextHop(b []byte, h *iface, c fcode) []byte {
	if h == nil {
		return append(b, '-')
	}
	switch c {
	case fNextHopInterfaceID:
		return append(b, h.id...)
	case fNextHopSubnetID:
		return append(b, h.subnet.id...)
	case fNextHopAZID:
		return append(b, h.subnet.azID...)
	case fNextHopVPCID:
		return append(b, h.vpc.id...)
	}
	return append(b, h.ifType...)
}
