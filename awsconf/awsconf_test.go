package awsconf

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowlens/flowlens/awsconf/awsconftest"
)

func TestLoad(t *testing.T) {
	awsconftest.Isolate(t, "")
	ac, err := Load(context.Background(), Options{MaxAttempts: 7})
	if err != nil {
		t.Fatal(err)
	}
	if ac.Region != "us-east-1" {
		t.Errorf("region %q, want the us-east-1 fallback", ac.Region)
	}
	if n := ac.Retryer().MaxAttempts(); n != 7 {
		t.Errorf("max attempts %d, want 7", n)
	}
	if _, ok := ac.HTTPClient.(bodyGuard); !ok {
		t.Errorf("HTTP client %T is not guarded", ac.HTTPClient)
	}
	if _, ok := BodyGuard(ac.HTTPClient).(bodyGuard).c.(bodyGuard); ok {
		t.Error("BodyGuard wraps a guarded client twice")
	}
	ac, err = Load(context.Background(), Options{Region: "eu-west-1"})
	if err != nil || ac.Region != "eu-west-1" {
		t.Fatalf("region %q, %v", ac.Region, err)
	}
}

// writerToBody is a request body with a WriteTo method, as the SDK's is.
type writerToBody struct{ io.Reader }

func (writerToBody) Close() error                       { return nil }
func (writerToBody) WriteTo(w io.Writer) (int64, error) { return 0, io.EOF }

func TestBodyGuardHidesWriteTo(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
	}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Body = writerToBody{strings.NewReader("Action=X")}
	req.ContentLength = 8
	resp, err := BodyGuard(http.DefaultClient).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != "Action=X" {
		t.Errorf("server read %q: the body went through its broken WriteTo", got)
	}
	if _, ok := req.Body.(io.WriterTo); ok {
		t.Error("the guarded body still has WriteTo")
	}
}
