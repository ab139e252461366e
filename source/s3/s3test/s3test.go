// Package s3test serves S3 on 127.0.0.1 for tests: gofakes3 in process, or
// a real S3-compatible server (MinIO in CI) named by
// FLOWLENS_TEST_S3_ENDPOINT, always behind a front that records the
// requests and can answer the first GETs with 503 SlowDown.
package s3test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/flowlens/flowlens/awsconf/awsconftest"
	s3src "github.com/flowlens/flowlens/source/s3"
)

// Environment variables naming a real server for the "minio" backend.
const (
	EnvEndpoint  = "FLOWLENS_TEST_S3_ENDPOINT"
	EnvAccessKey = "FLOWLENS_TEST_S3_ACCESS_KEY"
	EnvSecretKey = "FLOWLENS_TEST_S3_SECRET_KEY"
)

// Backends lists the servers to run an S3 suite against: "gofakes3"
// always, "minio" when FLOWLENS_TEST_S3_ENDPOINT is set. With CI=true and
// no endpoint it fails t: the real-server suite is mandatory in CI.
func Backends(t testing.TB) []string {
	if os.Getenv(EnvEndpoint) != "" {
		return []string{"gofakes3", "minio"}
	}
	if os.Getenv("CI") == "true" {
		t.Errorf("CI=true but %s is not set: the S3 suite must run against MinIO in CI (.ci/minio.sh)", EnvEndpoint)
	}
	return []string{"gofakes3"}
}

// Request is one request the front saw.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Range  string
	Status int
}

// Server is an S3 endpoint on 127.0.0.1.
type Server struct {
	// URL is the endpoint.
	URL string
	// AccessKey and SecretKey are the credentials it accepts.
	AccessKey, SecretKey string
	// FailGets is how many GetObject requests to answer 503 SlowDown
	// before passing them on (set before the reads start).
	FailGets atomic.Int64
	// GetDelay delays every GetObject, to make overlap measurable.
	GetDelay time.Duration

	mu       sync.Mutex
	reqs     []Request
	inFlight int
	maxGets  int
	buckets  int
}

// Start serves the backend ("gofakes3" or "minio") until the test ends.
func Start(t testing.TB, backend string) *Server {
	t.Helper()
	s := &Server{AccessKey: "flowlens", SecretKey: "flowlens-secret"}
	var upstream http.Handler
	switch backend {
	case "gofakes3":
		upstream = gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(false)).Server()
	case "minio":
		u, err := url.Parse(os.Getenv(EnvEndpoint))
		if err != nil || u.Host == "" {
			t.Fatalf("%s=%q: %v", EnvEndpoint, os.Getenv(EnvEndpoint), err)
		}
		upstream = httputil.NewSingleHostReverseProxy(u)
		s.AccessKey, s.SecretKey = os.Getenv(EnvAccessKey), os.Getenv(EnvSecretKey)
	default:
		t.Fatalf("unknown S3 backend %q", backend)
	}
	hs := httptest.NewServer(s.front(upstream))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

func (s *Server) front(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isGet := r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
		rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Range: r.Header.Get("Range"), Status: 200}
		if isGet && s.FailGets.Add(-1) >= 0 {
			rec.Status = http.StatusServiceUnavailable
			s.record(rec)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
			return
		}
		s.record(rec)
		if isGet {
			s.mu.Lock()
			s.inFlight++
			s.maxGets = max(s.maxGets, s.inFlight)
			s.mu.Unlock()
			defer func() {
				s.mu.Lock()
				s.inFlight--
				s.mu.Unlock()
			}()
			if s.GetDelay > 0 {
				time.Sleep(s.GetDelay)
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.mu.Unlock()
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Reset forgets the requests seen.
func (s *Server) Reset() {
	s.mu.Lock()
	s.reqs, s.maxGets = nil, 0
	s.mu.Unlock()
}

// MaxConcurrentGets is the largest number of object GETs served at once.
func (s *Server) MaxConcurrentGets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxGets
}

// Env points the AWS SDK's default chain at the server's credentials and
// away from the machine's own AWS configuration.
func (s *Server) Env(t testing.TB) {
	awsconftest.Isolate(t, "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", s.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.SecretKey)
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
}

// Config returns source settings that reach the server (call Env first).
func (s *Server) Config() s3src.Config {
	c := s3src.DefaultConfig()
	c.EndpointURL = s.URL
	c.UsePathStyle = true
	c.MaxBackoff = 50 * time.Millisecond
	return c
}

// Client returns an S3 client for the server.
func (s *Server) Client(t testing.TB) *awss3.Client {
	t.Helper()
	c, err := s3src.NewClient(context.Background(), s.Config())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Bucket creates a new, empty bucket and returns its name.
func (s *Server) Bucket(t testing.TB, c *awss3.Client) string {
	t.Helper()
	s.mu.Lock()
	s.buckets++
	name := fmt.Sprintf("flowlens-%d-%d", time.Now().UnixNano(), s.buckets)
	s.mu.Unlock()
	if _, err := c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return name
}

// Put stores an object.
func Put(t testing.TB, c *awss3.Client, bucket, key string, data []byte) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &awss3.PutObjectInput{Bucket: &bucket, Key: &key,
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// Gzip compresses data.
func Gzip(data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

// FlowLog renders n default-format records of account, with a header
// line, in the 5-minute window ending at end; seed varies the addresses.
func FlowLog(account string, end time.Time, n, seed int) []byte {
	var b strings.Builder
	b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	for i := range n {
		fmt.Fprintf(&b, "2 %s eni-%08x 10.0.%d.%d 192.0.2.%d %d 443 6 %d %d %d %d ACCEPT OK\n",
			account, seed, seed%250, i%250+1, (i+seed)%250+1, 1024+i, i+1, 100*(i+1),
			end.Add(-5*time.Minute).Unix(), end.Unix()-1)
	}
	return []byte(b.String())
}
