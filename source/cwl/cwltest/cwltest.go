// Package cwltest is an in-process CloudWatch Logs server for tests. It
// speaks the AWS JSON 1.1 protocol the SDK uses (POST,
// Content-Type application/x-amz-json-1.1, X-Amz-Target:
// Logs_20140328.<Action>) for FilterLogEvents and DescribeLogStreams, with
// the behaviour clients must cope with: events sorted by timestamp across
// streams, pages capped by a limit, empty pages that still carry a
// nextToken, ThrottlingException on demand, ResourceNotFoundException for
// unknown groups, and events added later with old timestamps (late events).
package cwltest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxLimit is the API's largest page (and its default).
const maxLimit = 10000

// Server is a fake CloudWatch Logs endpoint.
type Server struct {
	// URL is the endpoint, for the SDK's BaseEndpoint.
	URL string

	mu        sync.Mutex
	groups    map[string]*group
	seq       int64
	clock     int64 // ingestion time of the last event added, ms
	pageSize  int
	empties   int // empty pages served before each page with events
	throttle  int // FilterLogEvents calls still to fail with ThrottlingException
	calls     map[string]int
	requests  []FilterRequest
	throttled int
}

type group struct {
	streams map[string]*stream
}

type stream struct {
	events []event
}

type event struct {
	id        string
	ts        int64
	ingestion int64
	stream    string
	message   string
}

// Event is one log event to add.
type Event struct {
	// Timestamp is the event time in milliseconds since the epoch.
	Timestamp int64
	// Message is the event's text (one flow-log record).
	Message string
}

// FilterRequest is what a FilterLogEvents call asked for (0 or "" when a
// parameter was absent).
type FilterRequest struct {
	Group     string
	Prefix    string
	Streams   []string
	StartTime int64
	EndTime   int64
	Limit     int
	Token     bool // a nextToken was given
}

// Start serves until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{groups: map[string]*group{}, calls: map[string]int{}, pageSize: maxLimit}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// CreateGroup adds an empty log group (adding events creates it too).
func (s *Server) CreateGroup(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.group(name)
}

func (s *Server) group(name string) *group {
	g := s.groups[name]
	if g == nil {
		g = &group{streams: map[string]*stream{}}
		s.groups[name] = g
	}
	return g
}

// Add appends events to a stream (creating the group and stream) and
// returns their event ids. Each event's ingestion time is later than that
// of every event added before, whatever its timestamp: an event with an
// old timestamp is a late event.
func (s *Server) Add(groupName, streamName string, evs ...Event) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.group(groupName)
	st := g.streams[streamName]
	if st == nil {
		st = &stream{}
		g.streams[streamName] = st
	}
	ids := make([]string, 0, len(evs))
	now := time.Now().UnixMilli()
	for _, e := range evs {
		s.seq++
		s.clock = max(s.clock+1, now)
		// Real ids are 56 decimal digits; these are unique and of that shape.
		id := fmt.Sprintf("%020d%036d", e.Timestamp, s.seq)
		st.events = append(st.events, event{id: id, ts: e.Timestamp, ingestion: s.clock, stream: streamName, message: e.Message})
		ids = append(ids, id)
	}
	return ids
}

// SetPageSize caps the events of one page below the request's limit, so
// that small tests paginate.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = min(max(n, 1), maxLimit)
}

// SetEmptyPages makes the server answer n empty pages, each with a
// nextToken, before every page that holds events (the API does this while
// it scans).
func (s *Server) SetEmptyPages(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.empties = n
}

// Throttle makes the next n FilterLogEvents calls fail with
// ThrottlingException.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Calls returns how many calls of an action were answered (throttled ones
// included).
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// Throttled returns how many calls were refused with ThrottlingException.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// Requests returns the FilterLogEvents requests served so far.
func (s *Server) Requests() []FilterRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	action, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
	if r.Method != http.MethodPost || !ok || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		writeErr(w, &apiError{400, "UnknownOperationException", "want a JSON 1.1 POST with X-Amz-Target Logs_20140328.<Action>"})
		return
	}
	var in map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErr(w, &apiError{400, "SerializationException", err.Error()})
		return
	}
	s.mu.Lock()
	s.calls[action]++
	var out any
	var aerr *apiError
	switch action {
	case "FilterLogEvents":
		out, aerr = s.filter(in)
	case "DescribeLogStreams":
		out, aerr = s.describeStreams(in)
	default:
		aerr = &apiError{400, "UnknownOperationException", "operation " + action + " is not supported by this fake"}
	}
	s.mu.Unlock()
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("fake-%d", time.Now().UnixNano()))
	write(w, http.StatusOK, out)
}

func writeErr(w http.ResponseWriter, e *apiError) {
	write(w, e.status, map[string]string{"__type": e.code, "message": e.msg})
}

// write sends a JSON body with its length, as the service does.
func write(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// params decodes the request members the fake reads.
type params struct {
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	LogStreamNames      []string `json:"logStreamNames"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	Limit               *int     `json:"limit"`
	NextToken           *string  `json:"nextToken"`
	FilterPattern       *string  `json:"filterPattern"`
	StartFromHead       *bool    `json:"startFromHead"`
	Descending          *bool    `json:"descending"`
	OrderBy             *string  `json:"orderBy"`
}

func decode(in map[string]json.RawMessage) (params, *apiError) {
	raw, _ := json.Marshal(in)
	var p params
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, &apiError{400, "SerializationException", err.Error()}
	}
	return p, nil
}

func (s *Server) lookup(p params) (string, *group, *apiError) {
	switch {
	case p.LogGroupName != nil && p.LogGroupIdentifier != nil:
		return "", nil, &apiError{400, "InvalidParameterException", "LogGroup name and LogGroup ARN are mutually exclusive parameters."}
	case p.LogGroupName == nil && p.LogGroupIdentifier == nil:
		return "", nil, &apiError{400, "InvalidParameterException", "Should provide either a LogGroup name or a LogGroup ARN."}
	}
	name := ""
	if p.LogGroupName != nil {
		name = *p.LogGroupName
	} else {
		name = *p.LogGroupIdentifier
		if i := strings.Index(name, ":log-group:"); i >= 0 {
			name = strings.TrimSuffix(name[i+len(":log-group:"):], ":*")
		}
	}
	g := s.groups[name]
	if g == nil {
		return name, nil, &apiError{400, "ResourceNotFoundException", "The specified log group does not exist."}
	}
	return name, g, nil
}

// cursor is the position a nextToken encodes: the sort key of the last
// event served, and the empty pages still to serve before the next one.
type cursor struct {
	TS        int64  `json:"t"`
	Ingestion int64  `json:"i"`
	ID        string `json:"e"`
	Empties   int    `json:"z"`
	Query     string `json:"q"` // the request the token belongs to
}

func less(a event, c cursor) bool {
	if a.ts != c.TS {
		return a.ts < c.TS
	}
	if a.ingestion != c.Ingestion {
		return a.ingestion < c.Ingestion
	}
	return a.id <= c.ID
}

type outEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

func (s *Server) filter(in map[string]json.RawMessage) (any, *apiError) {
	p, aerr := decode(in)
	if aerr != nil {
		return nil, aerr
	}
	name, g, aerr := s.lookup(p)
	req := FilterRequest{Group: name, Streams: p.LogStreamNames, Token: p.NextToken != nil}
	if p.LogStreamNamePrefix != nil {
		req.Prefix = *p.LogStreamNamePrefix
	}
	if p.StartTime != nil {
		req.StartTime = *p.StartTime
	}
	if p.EndTime != nil {
		req.EndTime = *p.EndTime
	}
	if p.Limit != nil {
		req.Limit = *p.Limit
	}
	s.requests = append(s.requests, req)
	if s.throttle > 0 {
		s.throttle--
		s.throttled++
		return nil, &apiError{400, "ThrottlingException", "Rate exceeded"}
	}
	if aerr != nil {
		return nil, aerr
	}
	switch {
	case p.LogStreamNamePrefix != nil && len(p.LogStreamNames) > 0:
		return nil, &apiError{400, "InvalidParameterException", "Cannot specify both logStreamNamePrefix and logStreamNames"}
	case len(p.LogStreamNames) > 100:
		return nil, &apiError{400, "InvalidParameterException", "logStreamNames: at most 100 names"}
	case p.Limit != nil && (*p.Limit < 1 || *p.Limit > maxLimit):
		return nil, &apiError{400, "InvalidParameterException", fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000", *p.Limit)}
	case p.StartTime != nil && *p.StartTime < 0, p.EndTime != nil && *p.EndTime < 0:
		return nil, &apiError{400, "InvalidParameterException", "startTime and endTime must be non-negative"}
	case p.FilterPattern != nil && *p.FilterPattern != "":
		return nil, &apiError{400, "InvalidParameterException", "filter patterns are not supported by this fake"}
	}
	// The token is bound to the query it came from.
	q := fmt.Sprintf("%s|%v|%v|%v|%v", name, req.Prefix, p.LogStreamNames, req.StartTime, req.EndTime)
	var pos *cursor
	empties := s.empties
	if p.NextToken != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*p.NextToken)
		var c cursor
		if err == nil {
			err = json.Unmarshal(raw, &c)
		}
		if err != nil || c.Query != q {
			return nil, &apiError{400, "InvalidParameterException", "The specified nextToken is invalid."}
		}
		pos, empties = &c, c.Empties
	}
	var match []event
	for sname, st := range g.streams {
		if p.LogStreamNamePrefix != nil && !strings.HasPrefix(sname, *p.LogStreamNamePrefix) {
			continue
		}
		if len(p.LogStreamNames) > 0 && !slices.Contains(p.LogStreamNames, sname) {
			continue
		}
		for _, e := range st.events {
			if p.StartTime != nil && e.ts < *p.StartTime || p.EndTime != nil && e.ts > *p.EndTime {
				continue
			}
			if pos != nil && less(e, *pos) {
				continue
			}
			match = append(match, e)
		}
	}
	slices.SortFunc(match, func(a, b event) int {
		switch {
		case a.ts != b.ts:
			return cmpInt(a.ts, b.ts)
		case a.ingestion != b.ingestion:
			return cmpInt(a.ingestion, b.ingestion)
		}
		return strings.Compare(a.id, b.id)
	})
	out := struct {
		Events             []outEvent `json:"events"`
		SearchedLogStreams []any      `json:"searchedLogStreams"`
		NextToken          *string    `json:"nextToken,omitempty"`
	}{Events: []outEvent{}, SearchedLogStreams: []any{}}
	next := cursor{Query: q, Empties: s.empties}
	if pos != nil {
		next.TS, next.Ingestion, next.ID = pos.TS, pos.Ingestion, pos.ID
	} else {
		next.TS, next.Ingestion = -1, -1
	}
	if len(match) > 0 && empties > 0 {
		// Still scanning: an empty page, with a token.
		next.Empties = empties - 1
		out.NextToken = token(next)
		return out, nil
	}
	n := min(len(match), s.pageSize)
	if p.Limit != nil {
		n = min(n, *p.Limit)
	}
	for _, e := range match[:n] {
		out.Events = append(out.Events, outEvent{LogStreamName: e.stream, Timestamp: e.ts, Message: e.message,
			IngestionTime: e.ingestion, EventID: e.id})
	}
	if n < len(match) {
		last := match[n-1]
		next.TS, next.Ingestion, next.ID = last.ts, last.ingestion, last.id
		out.NextToken = token(next)
	}
	return out, nil
}

func token(c cursor) *string {
	raw, _ := json.Marshal(c)
	t := base64.RawURLEncoding.EncodeToString(raw)
	return &t
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// describeStreams lists a group's streams by name (logStreamNamePrefix,
// limit, nextToken), with their first and last event timestamps.
func (s *Server) describeStreams(in map[string]json.RawMessage) (any, *apiError) {
	p, aerr := decode(in)
	if aerr != nil {
		return nil, aerr
	}
	_, g, aerr := s.lookup(p)
	if aerr != nil {
		return nil, aerr
	}
	if p.OrderBy != nil && *p.OrderBy == "LastEventTime" && p.LogStreamNamePrefix != nil {
		return nil, &apiError{400, "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix."}
	}
	limit := 50
	if p.Limit != nil {
		if *p.Limit < 1 || *p.Limit > 50 {
			return nil, &apiError{400, "InvalidParameterException", "limit must be between 1 and 50"}
		}
		limit = *p.Limit
	}
	var names []string
	for name := range g.streams {
		if p.LogStreamNamePrefix == nil || strings.HasPrefix(name, *p.LogStreamNamePrefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if p.NextToken != nil {
		after, err := base64.RawURLEncoding.DecodeString(*p.NextToken)
		if err != nil {
			return nil, &apiError{400, "InvalidParameterException", "The specified nextToken is invalid."}
		}
		i, _ := slices.BinarySearch(names, string(after)+"\x00")
		names = names[i:]
	}
	type outStream struct {
		LogStreamName       string `json:"logStreamName"`
		CreationTime        int64  `json:"creationTime"`
		FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
		LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
		LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
		StoredBytes         int64  `json:"storedBytes"`
	}
	out := struct {
		LogStreams []outStream `json:"logStreams"`
		NextToken  *string     `json:"nextToken,omitempty"`
	}{LogStreams: []outStream{}}
	for i, name := range names {
		if i == limit {
			t := base64.RawURLEncoding.EncodeToString([]byte(names[i-1]))
			out.NextToken = &t
			break
		}
		st := g.streams[name]
		o := outStream{LogStreamName: name}
		for _, e := range st.events {
			if o.FirstEventTimestamp == nil || e.ts < *o.FirstEventTimestamp {
				o.FirstEventTimestamp = &e.ts
			}
			if o.LastEventTimestamp == nil || e.ts > *o.LastEventTimestamp {
				o.LastEventTimestamp = &e.ts
			}
			o.LastIngestionTime = &e.ingestion
		}
		out.LogStreams = append(out.LogStreams, o)
	}
	return out, nil
}
