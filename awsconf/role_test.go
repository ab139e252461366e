package awsconf

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/flowlens/flowlens/awsconf/awsconftest"
)

// stsServer answers AssumeRole in the STS Query protocol (form POST in,
// XML out) and records the forms it got.
type stsServer struct {
	mu    sync.Mutex
	forms []url.Values
}

func (s *stsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.forms = append(s.forms, r.PostForm)
	s.mu.Unlock()
	if r.PostForm.Get("Action") != "AssumeRole" {
		http.Error(w, "unexpected action", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/FlowLogReader/flowlens</Arn>
      <AssumedRoleId>AROAEXAMPLE:flowlens</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAASSUMED</AccessKeyId>
      <SecretAccessKey>assumed-secret</SecretAccessKey>
      <SessionToken>assumed-token</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
}

// TestAssumeRole checks that with a role the SDK first asks STS for it,
// with the external id, and then signs service calls with the role's
// credentials, not the base ones.
func TestAssumeRole(t *testing.T) {
	sts := &stsServer{}
	stsSrv := httptest.NewServer(sts)
	defer stsSrv.Close()
	var mu sync.Mutex
	var auth, token string
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth, token = r.Header.Get("Authorization"), r.Header.Get("X-Amz-Security-Token")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		fmt.Fprint(w, `{"QueueUrls":[]}`)
	}))
	defer svc.Close()
	awsconftest.Isolate(t, "")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDBASE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "base-secret")
	t.Setenv("AWS_ENDPOINT_URL_STS", stsSrv.URL)
	ac, err := Load(context.Background(), Options{Region: "eu-west-1",
		RoleARN: "arn:aws:iam::123456789012:role/FlowLogReader", ExternalID: "ext-42", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	client := sqs.NewFromConfig(ac, func(o *sqs.Options) { o.BaseEndpoint = aws.String(svc.URL) })
	if _, err := client.ListQueues(context.Background(), &sqs.ListQueuesInput{}); err != nil {
		t.Fatal(err)
	}
	if len(sts.forms) != 1 {
		t.Fatalf("%d STS calls, want 1", len(sts.forms))
	}
	f := sts.forms[0]
	if f.Get("RoleArn") != "arn:aws:iam::123456789012:role/FlowLogReader" || f.Get("ExternalId") != "ext-42" || f.Get("RoleSessionName") != "flowlens" {
		t.Errorf("AssumeRole form %v", f)
	}
	if !strings.Contains(auth, "Credential=ASIAASSUMED/") || token != "assumed-token" {
		t.Errorf("service call signed with %q, token %q; want the assumed role's credentials", auth, token)
	}
}
