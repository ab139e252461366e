// Package ec2test is an in-process EC2 endpoint for tests. It speaks the
// EC2 Query protocol the SDK uses (POST, form-encoded
// Action=...&Version=2016-11-15, XML responses in the EC2 namespace with
// a requestId, lists as <xxxSet><item>, errors as
// <Response><Errors><Error><Code>) for DescribeNetworkInterfaces,
// DescribeNatGateways, DescribeVpcs, DescribeSubnets, DescribeInstances
// and DescribeFlowLogs, with the real API's pagination (MaxResults 5 to
// 1000, opaque NextToken), ID lists, filters (with * and ? wildcards),
// IncludeManagedResources, DryRun and injected RequestLimitExceeded
// throttling. Each region has its own estate: the region is read from
// the request's SigV4 credential scope, as one endpoint serving every
// region (an --endpoint-url) sees it.
package ec2test

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/flowlens/flowlens/awsconf"
)

// APIVersion is the only Version the server accepts.
const APIVersion = "2016-11-15"

const namespace = "http://ec2.amazonaws.com/doc/" + APIVersion + "/"

// Request is one request the server received.
type Request struct {
	Action string
	Region string
	// Params are the form parameters (Action and Version included).
	Params url.Values
	// Throttled is set when the request was answered with
	// RequestLimitExceeded.
	Throttled bool
}

// Server is a fake EC2 endpoint.
type Server struct {
	// URL is the endpoint.
	URL string
	// PageLimit, when positive, caps every page even when the request sets
	// no MaxResults (the real API paginates some large unpaginated
	// results on its own).
	PageLimit int

	mu       sync.Mutex
	regions  map[string]*Estate
	throttle map[string]*throttle // by action ("" for any)
	requests []Request
	seq      int
}

// Start serves until the test ends.
func Start(t testing.TB) *Server {
	s := New()
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// New returns a server that is not listening: serve it with
// httptest.NewServer (and set URL) or call ServeHTTP directly.
func New() *Server {
	return &Server{regions: map[string]*Estate{}, throttle: map[string]*throttle{}}
}

// Seed adds resources to a region's estate.
func (s *Server) Seed(region string, e Estate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.estate(region)
	r.NetworkInterfaces = append(r.NetworkInterfaces, e.NetworkInterfaces...)
	r.NatGateways = append(r.NatGateways, e.NatGateways...)
	r.Vpcs = append(r.Vpcs, e.Vpcs...)
	r.Subnets = append(r.Subnets, e.Subnets...)
	r.Reservations = append(r.Reservations, e.Reservations...)
	r.FlowLogs = append(r.FlowLogs, e.FlowLogs...)
}

func (s *Server) estate(region string) *Estate {
	r := s.regions[region]
	if r == nil {
		r = &Estate{}
		s.regions[region] = r
	}
	return r
}

type throttle struct{ skip, n int }

// Throttle makes the next n requests for action (any action when action
// is "") fail with RequestLimitExceeded (HTTP 503), as EC2 answers when
// the account's request rate is exceeded.
func (s *Server) Throttle(action string, n int) { s.ThrottleAfter(action, 0, n) }

// ThrottleAfter lets skip requests for action through, then throttles the
// n after them (a throttled page in the middle of a pagination).
func (s *Server) ThrottleAfter(action string, skip, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle[action] = &throttle{skip, n}
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Calls returns how many requests for action were received, throttled
// ones included.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Action == action {
			n++
		}
	}
	return n
}

// apiError is an EC2 error response.
type apiError struct {
	status  int
	code    string
	message string
}

func errorf(status int, code, format string, a ...any) *apiError {
	return &apiError{status, code, fmt.Sprintf(format, a...)}
}

// reScope finds the region in a SigV4 Authorization header.
var reScope = regexp.MustCompile(`Credential=[^/]+/[0-9]{8}/([^/]+)/ec2/aws4_request`)

// ServeHTTP answers one Query-protocol request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seq++
	reqID := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
	s.mu.Unlock()
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		writeError(w, reqID, errorf(400, "InvalidAction", "want a form-encoded POST"))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, reqID, errorf(400, "MalformedQueryString", "%v", err))
		return
	}
	m := reScope.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		writeError(w, reqID, errorf(401, "AuthFailure", "AWS was not able to validate the provided access credentials"))
		return
	}
	req := Request{Action: r.PostForm.Get("Action"), Region: m[1], Params: r.PostForm}
	s.mu.Lock()
	for _, k := range []string{req.Action, ""} {
		th := s.throttle[k]
		switch {
		case th == nil || th.n == 0:
			continue
		case th.skip > 0:
			th.skip--
		default:
			th.n--
			req.Throttled = true
		}
		break
	}
	s.requests = append(s.requests, req)
	if req.Throttled {
		s.mu.Unlock()
		writeError(w, reqID, errorf(503, "RequestLimitExceeded", "Request limit exceeded."))
		return
	}
	body, aerr := s.do(req, reqID)
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, reqID, aerr)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("x-amzn-RequestId", reqID)
	w.Write(body)
}

func writeError(w http.ResponseWriter, reqID string, e *apiError) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Response><Errors><Error><Code>")
	xml.EscapeText(&b, []byte(e.code))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(e.message))
	b.WriteString("</Message></Error></Errors><RequestID>")
	b.WriteString(reqID)
	b.WriteString("</RequestID></Response>")
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Header().Set("x-amzn-RequestId", reqID)
	w.WriteHeader(e.status)
	w.Write(b.Bytes())
}

// action describes one Describe* operation: the request's ID-list
// parameter, the response's list element, the filters it knows and
// whether MaxResults excludes an ID list.
type action struct {
	idParam     string
	set         string
	idsExcludeN bool
	items       func(e *Estate, managed bool) []item
	// group, when set, regroups a page's items (instances back into
	// their reservations).
	group func([]item) []item
}

// item is one listed resource: its ID, its filter values and the value
// to marshal.
type item struct {
	id      string
	filters map[string][]string
	v       any
}

var actions = map[string]action{
	"DescribeNetworkInterfaces": {idParam: "NetworkInterfaceId", set: "networkInterfaceSet", idsExcludeN: true, items: eniItems},
	"DescribeNatGateways":       {idParam: "NatGatewayId", set: "natGatewaySet", items: natItems},
	"DescribeVpcs":              {idParam: "VpcId", set: "vpcSet", items: vpcItems},
	"DescribeSubnets":           {idParam: "SubnetId", set: "subnetSet", items: subnetItems},
	"DescribeInstances":         {idParam: "InstanceId", set: "reservationSet", idsExcludeN: true, items: instanceItems, group: groupReservations},
	"DescribeFlowLogs":          {idParam: "FlowLogId", set: "flowLogSet", items: flowLogItems},
}

func (s *Server) do(req Request, reqID string) ([]byte, *apiError) {
	p := req.Params
	switch v := p.Get("Version"); v {
	case APIVersion:
	case "":
		return nil, errorf(400, "MissingParameter", "The request must contain the parameter Version")
	default:
		return nil, errorf(400, "InvalidParameterValue", "Unsupported API version %s", v)
	}
	a, ok := actions[req.Action]
	if !ok {
		return nil, errorf(400, "InvalidAction", "The action %s is not valid for this web service.", req.Action)
	}
	if p.Get("DryRun") == "true" {
		return nil, errorf(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	}
	ids := list(p, a.idParam)
	limit := 0
	if v := p.Get("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, errorf(400, "InvalidParameterValue", "Invalid value '%s' for maxResults", v)
		}
		if n < 5 {
			return nil, errorf(400, "InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value greater than 5.", n)
		}
		if a.idsExcludeN && len(ids) > 0 {
			return nil, errorf(400, "InvalidParameterCombination", "The parameter %sSet cannot be used with the parameter maxResults", lowerFirst(a.idParam))
		}
		limit = min(n, 1000)
	}
	if s.PageLimit > 0 && (limit == 0 || limit > s.PageLimit) {
		limit = s.PageLimit
	}
	filters, aerr := parseFilters(p)
	if aerr != nil {
		return nil, aerr
	}
	all := a.items(s.estate(req.Region), p.Get("IncludeManagedResources") == "true")
	var match []item
	for _, it := range all {
		if len(ids) > 0 && !contains(ids, it.id) {
			continue
		}
		ok, aerr := matches(it, filters)
		if aerr != nil {
			return nil, aerr
		}
		if ok {
			match = append(match, it)
		}
	}
	start := 0
	if tok := p.Get("NextToken"); tok != "" {
		n, ok := decodeToken(tok, req.Action)
		if !ok || n > len(match) {
			return nil, errorf(400, "InvalidPaginationToken", "The specified pagination token is not valid or is expired.")
		}
		start = n
	}
	end := len(match)
	next := ""
	if limit > 0 && start+limit < end {
		end = start + limit
		next = encodeToken(req.Action, end)
	}
	page := match[start:end]
	if a.group != nil {
		page = a.group(page)
	}
	return render(req.Action, a.set, reqID, page, next)
}

func render(action, set, reqID string, items []item, next string) ([]byte, *apiError) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	root := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: namespace}}}
	tokens := func(ts ...xml.Token) error {
		for _, t := range ts {
			if err := enc.EncodeToken(t); err != nil {
				return err
			}
		}
		return nil
	}
	el := func(name string) xml.StartElement { return xml.StartElement{Name: xml.Name{Local: name}} }
	err := tokens(root)
	if err == nil {
		err = enc.EncodeElement(reqID, el("requestId"))
	}
	if err == nil {
		err = tokens(el(set))
	}
	for _, it := range items {
		if err == nil {
			err = enc.EncodeElement(it.v, el("item"))
		}
	}
	if err == nil {
		err = tokens(el(set).End())
	}
	if err == nil && next != "" {
		err = enc.EncodeElement(next, el("nextToken"))
	}
	if err == nil {
		err = tokens(root.End())
	}
	if err == nil {
		err = enc.Flush()
	}
	if err != nil {
		return nil, errorf(500, "InternalError", "%v", err)
	}
	return b.Bytes(), nil
}

// list reads a Query list parameter: Name.1, Name.2, ...
func list(p url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[name+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v...)
	}
}

type filter struct {
	name   string
	values []*regexp.Regexp
}

// parseFilters reads Filter.N.Name and Filter.N.Value.M.
func parseFilters(p url.Values) ([]filter, *apiError) {
	var out []filter
	for i := 1; ; i++ {
		prefix := "Filter." + strconv.Itoa(i) + "."
		name, ok := p[prefix+"Name"]
		if !ok {
			return out, nil
		}
		f := filter{name: name[0]}
		for _, v := range list(p, prefix+"Value") {
			f.values = append(f.values, wildcard(v))
		}
		if len(f.values) == 0 {
			return nil, errorf(400, "InvalidParameterValue", "The filter '%s' has no values", f.name)
		}
		out = append(out, f)
	}
}

// wildcard compiles an EC2 filter value: * matches any run of
// characters, ? any one character, \ escapes.
func wildcard(v string) *regexp.Regexp {
	var sb strings.Builder
	sb.WriteString("^")
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && i+1 < len(v):
			i++
			sb.WriteString(regexp.QuoteMeta(v[i : i+1]))
		case c == '*':
			sb.WriteString("(?s:.*)")
		case c == '?':
			sb.WriteString("(?s:.)")
		default:
			sb.WriteString(regexp.QuoteMeta(v[i : i+1]))
		}
	}
	sb.WriteString("$")
	return regexp.MustCompile(sb.String())
}

// matches applies the filters (AND of filters, OR of each filter's
// values). tag:Key and tag-key work on every resource.
func matches(it item, filters []filter) (bool, *apiError) {
	for _, f := range filters {
		vals, known := it.filters[f.name]
		if !known && !strings.HasPrefix(f.name, "tag:") {
			return false, errorf(400, "InvalidParameterValue", "The filter '%s' is invalid", f.name)
		}
		hit := false
		for _, v := range vals {
			for _, re := range f.values {
				if re.MatchString(v) {
					hit = true
				}
			}
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func encodeToken(action string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(action + ":" + strconv.Itoa(offset)))
}

func decodeToken(tok, action string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	a, n, ok := strings.Cut(string(raw), ":")
	if !ok || a != action {
		return 0, false
	}
	off, err := strconv.Atoi(n)
	return off, err == nil && off >= 0
}

// tagFilters adds tag:Key and tag-key values.
func tagFilters(f map[string][]string, tags []Tag) map[string][]string {
	for _, t := range tags {
		f["tag:"+t.Key] = append(f["tag:"+t.Key], t.Value)
		f["tag-key"] = append(f["tag-key"], t.Key)
	}
	if _, ok := f["tag-key"]; !ok {
		f["tag-key"] = nil
	}
	return f
}

func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func eniItems(e *Estate, managed bool) []item {
	var out []item
	for _, n := range e.NetworkInterfaces {
		if n.Managed && !managed {
			continue
		}
		private := nonEmpty(n.PrivateIpAddress)
		for _, p := range n.PrivateIpAddresses {
			if !contains(private, p.PrivateIpAddress) {
				private = append(private, p.PrivateIpAddress)
			}
		}
		f := map[string][]string{
			"network-interface-id": {n.NetworkInterfaceId},
			"vpc-id":               nonEmpty(n.VpcId),
			"subnet-id":            nonEmpty(n.SubnetId),
			"availability-zone":    nonEmpty(n.AvailabilityZone),
			"interface-type":       nonEmpty(n.InterfaceType),
			"description":          {n.Description},
			"status":               nonEmpty(n.Status),
			"owner-id":             nonEmpty(n.OwnerId),
			"requester-id":         nonEmpty(n.RequesterId),
			"requester-managed":    {strconv.FormatBool(n.RequesterManaged)},
			"private-ip-address":   private,
		}
		if n.Attachment != nil {
			f["attachment.instance-id"] = nonEmpty(n.Attachment.InstanceId)
		}
		if n.Association != nil {
			f["association.public-ip"] = nonEmpty(n.Association.PublicIp)
		}
		out = append(out, item{n.NetworkInterfaceId, tagFilters(f, n.TagSet), n})
	}
	return out
}

func natItems(e *Estate, _ bool) []item {
	var out []item
	for _, n := range e.NatGateways {
		f := map[string][]string{
			"nat-gateway-id": {n.NatGatewayId},
			"state":          nonEmpty(n.State),
			"subnet-id":      nonEmpty(n.SubnetId),
			"vpc-id":         nonEmpty(n.VpcId),
		}
		out = append(out, item{n.NatGatewayId, tagFilters(f, n.Tags), n})
	}
	return out
}

func vpcItems(e *Estate, _ bool) []item {
	var out []item
	for _, v := range e.Vpcs {
		cidrs := nonEmpty(v.CidrBlock)
		for _, c := range v.CidrBlockAssociationSet {
			cidrs = append(cidrs, c.CidrBlock)
		}
		f := map[string][]string{
			"vpc-id":                            {v.VpcId},
			"owner-id":                          nonEmpty(v.OwnerId),
			"state":                             nonEmpty(v.State),
			"is-default":                        {strconv.FormatBool(v.IsDefault)},
			"cidr":                              nonEmpty(v.CidrBlock),
			"cidr-block-association.cidr-block": cidrs,
		}
		out = append(out, item{v.VpcId, tagFilters(f, v.Tags), v})
	}
	return out
}

func subnetItems(e *Estate, _ bool) []item {
	var out []item
	for _, sn := range e.Subnets {
		f := map[string][]string{
			"subnet-id":         {sn.SubnetId},
			"vpc-id":            nonEmpty(sn.VpcId),
			"availability-zone": nonEmpty(sn.AvailabilityZone),
			"cidr-block":        nonEmpty(sn.CidrBlock),
			"state":             nonEmpty(sn.State),
			"owner-id":          nonEmpty(sn.OwnerId),
		}
		out = append(out, item{sn.SubnetId, tagFilters(f, sn.Tags), sn})
	}
	return out
}

// instanceItems lists instances, each as a reservation holding it:
// filters, IDs and pagination apply to instances, and groupReservations
// puts the instances of a page back together in their reservations.
func instanceItems(e *Estate, managed bool) []item {
	var out []item
	for _, r := range e.Reservations {
		for _, in := range r.Instances {
			if in.Managed && !managed {
				continue
			}
			f := map[string][]string{
				"instance-id":        {in.InstanceId},
				"instance-type":      nonEmpty(in.InstanceType),
				"vpc-id":             nonEmpty(in.VpcId),
				"subnet-id":          nonEmpty(in.SubnetId),
				"private-ip-address": nonEmpty(in.PrivateIpAddress),
				"ip-address":         nonEmpty(in.PublicIpAddress),
				"reservation-id":     {r.ReservationId},
			}
			if in.State != nil {
				f["instance-state-name"] = []string{in.State.Name}
			}
			one := r
			one.Instances = []Instance{in}
			out = append(out, item{in.InstanceId, tagFilters(f, in.Tags), one})
		}
	}
	return out
}

func flowLogItems(e *Estate, _ bool) []item {
	var out []item
	for _, fl := range e.FlowLogs {
		f := map[string][]string{
			"flow-log-id":          {fl.FlowLogId},
			"resource-id":          nonEmpty(fl.ResourceId),
			"traffic-type":         nonEmpty(fl.TrafficType),
			"log-destination-type": nonEmpty(fl.LogDestinationType),
			"log-group-name":       nonEmpty(fl.LogGroupName),
			"deliver-log-status":   nonEmpty(fl.DeliverLogsStatus),
		}
		out = append(out, item{fl.FlowLogId, tagFilters(f, fl.Tags), fl})
	}
	return out
}

// groupReservations merges adjacent one-instance reservations of the same
// reservation.
func groupReservations(items []item) []item {
	var out []item
	for _, it := range items {
		r := it.v.(Reservation)
		if n := len(out); n > 0 {
			last := out[n-1].v.(Reservation)
			if last.ReservationId == r.ReservationId {
				last.Instances = append(last.Instances, r.Instances...)
				out[n-1].v = last
				continue
			}
		}
		r.Instances = append([]Instance(nil), r.Instances...)
		out = append(out, item{r.ReservationId, nil, r})
	}
	return out
}

// Client returns an SDK client for the server with static test
// credentials, at most attempts tries per call and short retry backoff.
func (s *Server) Client(region string, attempts int) *ec2.Client {
	return ec2.NewFromConfig(aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:  awsconf.BodyGuard(nil),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = 5 * time.Millisecond
				o.RateLimiter = ratelimit.None
			})
		},
	}, func(o *ec2.Options) { o.BaseEndpoint = aws.String(s.URL) })
}
