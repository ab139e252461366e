// Package sqstest is an in-process SQS server for tests. It speaks the
// AWS JSON 1.0 protocol the SDK uses (POST with X-Amz-Target:
// AmazonSQS.<Action>) for GetQueueUrl, SendMessage, ReceiveMessage,
// DeleteMessage and ChangeMessageVisibility, with real visibility
// timeouts: a received message that is neither deleted nor extended
// becomes visible again, with its ApproximateReceiveCount incremented.
package sqstest

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a fake SQS endpoint with any number of queues.
type Server struct {
	// URL is the endpoint.
	URL string

	mu     sync.Mutex
	queues map[string]*queue // by name
	seq    int
	calls  map[string]int
}

type queue struct {
	name string
	msgs []*message
}

type message struct {
	id        string
	body      string
	receipt   string // current receipt handle ("" until received)
	visibleAt time.Time
	receives  int
}

// Start serves until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{queues: map[string]*queue{}, calls: map[string]int{}}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// CreateQueue adds a queue and returns its URL.
func (s *Server) CreateQueue(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queues[name] = &queue{name: name}
	return s.queueURL(name)
}

func (s *Server) queueURL(name string) string { return s.URL + "/000000000000/" + name }

// Len returns the number of messages in a queue, visible or not.
func (s *Server) Len(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queues[name].msgs)
}

// Calls returns how many times an action (DeleteMessage, ...) was called.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

type apiError struct {
	status int
	code   string
	msg    string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	action, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if r.Method != http.MethodPost || !ok || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.0") {
		writeErr(w, &apiError{400, "InvalidAction", "want a JSON 1.0 POST with X-Amz-Target"})
		return
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErr(w, &apiError{400, "SerializationException", err.Error()})
		return
	}
	s.mu.Lock()
	s.calls[action]++
	out, aerr := s.do(action, in)
	s.mu.Unlock()
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	json.NewEncoder(w).Encode(out)
}

func writeErr(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-query-error", e.code+";Sender")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + e.code, "message": e.msg})
}

func str(in map[string]any, k string) string { v, _ := in[k].(string); return v }

func num(in map[string]any, k string, def int) int {
	if v, ok := in[k].(float64); ok {
		return int(v)
	}
	return def
}

func (s *Server) lookup(in map[string]any) (*queue, *apiError) {
	u := str(in, "QueueUrl")
	name := u[strings.LastIndexByte(u, '/')+1:]
	q := s.queues[name]
	if q == nil || u != s.queueURL(name) {
		return nil, &apiError{400, "QueueDoesNotExist", "The specified queue does not exist."}
	}
	return q, nil
}

func md5Hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func (s *Server) do(action string, in map[string]any) (any, *apiError) {
	now := time.Now()
	switch action {
	case "GetQueueUrl":
		name := str(in, "QueueName")
		if s.queues[name] == nil {
			return nil, &apiError{400, "QueueDoesNotExist", "The specified queue does not exist."}
		}
		return map[string]string{"QueueUrl": s.queueURL(name)}, nil
	case "SendMessage":
		q, err := s.lookup(in)
		if err != nil {
			return nil, err
		}
		s.seq++
		m := &message{id: fmt.Sprintf("msg-%d", s.seq), body: str(in, "MessageBody"),
			visibleAt: now.Add(time.Duration(num(in, "DelaySeconds", 0)) * time.Second)}
		q.msgs = append(q.msgs, m)
		return map[string]string{"MessageId": m.id, "MD5OfMessageBody": md5Hex(m.body)}, nil
	case "ReceiveMessage":
		q, err := s.lookup(in)
		if err != nil {
			return nil, err
		}
		max := num(in, "MaxNumberOfMessages", 1)
		if max < 1 || max > 10 {
			return nil, &apiError{400, "InvalidParameterValue", "MaxNumberOfMessages must be 1 to 10"}
		}
		vis := time.Duration(num(in, "VisibilityTimeout", 30)) * time.Second
		wait := time.Duration(num(in, "WaitTimeSeconds", 0)) * time.Second
		deadline := now.Add(wait)
		for {
			var got []map[string]any
			for _, m := range q.msgs {
				if len(got) == max {
					break
				}
				if now.Before(m.visibleAt) {
					continue
				}
				s.seq++
				m.receives++
				m.receipt = fmt.Sprintf("rh-%s-%d", m.id, s.seq)
				m.visibleAt = now.Add(vis)
				got = append(got, map[string]any{"MessageId": m.id, "ReceiptHandle": m.receipt, "Body": m.body,
					"MD5OfBody": md5Hex(m.body), "Attributes": map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.receives)}})
			}
			if len(got) > 0 || !time.Now().Before(deadline) {
				if got == nil {
					return map[string]any{}, nil
				}
				return map[string]any{"Messages": got}, nil
			}
			// Long poll: let other calls in, look again.
			s.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			s.mu.Lock()
			now = time.Now()
		}
	case "DeleteMessage", "ChangeMessageVisibility":
		q, err := s.lookup(in)
		if err != nil {
			return nil, err
		}
		rh := str(in, "ReceiptHandle")
		for i, m := range q.msgs {
			if m.receipt != rh || rh == "" {
				continue
			}
			if action == "DeleteMessage" {
				q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
				return map[string]any{}, nil
			}
			if !now.Before(m.visibleAt) {
				return nil, &apiError{400, "MessageNotInflight", "The message is not in flight."}
			}
			m.visibleAt = now.Add(time.Duration(num(in, "VisibilityTimeout", 0)) * time.Second)
			return map[string]any{}, nil
		}
		return nil, &apiError{400, "ReceiptHandleIsInvalid", "The receipt handle is not valid."}
	}
	return nil, &apiError{400, "InvalidAction", "unsupported action " + action}
}
