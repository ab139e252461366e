package sqs_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/source/sqs"
)

func TestParseBody(t *testing.T) {
	const event = `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"logs"},"object":{"key":"AWSLogs/1/a+b%3Dc.log.gz","size":10,"eTag":"abc"}}},` +
		`{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"logs"},"object":{"key":"gone"}}},` +
		`{"eventSource":"aws:s3","eventName":"ObjectCreated:CompleteMultipartUpload","s3":{"bucket":{"name":"logs"},"object":{"key":"b.log.gz","size":20,"eTag":"def-2"}}}]}`
	two := []sqs.Notification{
		{Event: "ObjectCreated:Put", Bucket: "logs", Key: "AWSLogs/1/a b=c.log.gz", Size: 10, ETag: "abc"},
		{Event: "ObjectCreated:CompleteMultipartUpload", Bucket: "logs", Key: "b.log.gz", Size: 20, ETag: "def-2"},
	}
	cases := []struct {
		name      string
		body      string
		want      []sqs.Notification
		test      bool
		malformed bool
	}{
		{name: "s3 event", body: event, want: two},
		{name: "sns envelope", body: `{"Type":"Notification","MessageId":"x","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":` + quote(event) + `}`, want: two},
		{name: "test event", body: `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-03-11T00:00:00Z","Bucket":"logs"}`, test: true},
		{name: "test event in sns", body: `{"Type":"Notification","Message":` + quote(`{"Event":"s3:TestEvent"}`) + `}`, test: true},
		{name: "not json", body: "hello", malformed: true},
		{name: "other json", body: `{"foo":1}`, malformed: true},
		{name: "bad escape", body: `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]}`, malformed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, test, err := sqs.ParseBody(tc.body)
			if errors.Is(err, sqs.ErrMalformed) != tc.malformed || (err != nil && !tc.malformed) {
				t.Fatalf("err = %v, want malformed=%v", err, tc.malformed)
			}
			if test != tc.test {
				t.Fatalf("test = %v, want %v", test, tc.test)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func quote(s string) string {
	out := []byte{'"'}
	for _, c := range []byte(s) {
		if c == '"' || c == '\\' {
			out = append(out, '\\')
		}
		out = append(out, c)
	}
	return string(append(out, '"'))
}

func TestTarget(t *testing.T) {
	cases := []struct {
		arg, queue, endpoint string
		isURL                bool
	}{
		{"sqs://flow-events", "flow-events", "", false},
		{"sqs://sqs.us-east-1.amazonaws.com/123456789012/q", "https://sqs.us-east-1.amazonaws.com/123456789012/q", "https://sqs.us-east-1.amazonaws.com", true},
		{"sqs://http://127.0.0.1:9324/000000000000/q", "http://127.0.0.1:9324/000000000000/q", "http://127.0.0.1:9324", true},
	}
	for _, tc := range cases {
		t.Run(tc.arg, func(t *testing.T) {
			q, ep, isURL := sqs.Target(tc.arg)
			if diff := cmp.Diff([]any{tc.queue, tc.endpoint, tc.isURL}, []any{q, ep, isURL}); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}
