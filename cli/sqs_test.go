package cli_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flowlens/flowlens/cli"
	"github.com/flowlens/flowlens/source/s3/s3test"
	"github.com/flowlens/flowlens/source/sqs/sqstest"
)

// s3Event is the notification S3 sends for a new object (key form-encoded).
func s3Event(bucket, key string) string {
	enc := strings.ReplaceAll(strings.ReplaceAll(key, "=", "%3D"), " ", "+")
	return fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"ObjectCreated:Put",`+
		`"s3":{"bucket":{"name":%q},"object":{"key":%q,"size":1,"eTag":"x"}}}]}`, bucket, enc)
}

func snsWrap(msg string) string {
	return fmt.Sprintf(`{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:000000000000:t","Message":%q}`, msg)
}

func TestIngestSQS(t *testing.T) {
	srv := s3test.Start(t, "gofakes3")
	srv.Env(t)
	client := srv.Client(t)
	bucket := srv.Bucket(t, client)
	end := time.Date(2024, 3, 11, 0, 5, 0, 0, time.UTC)
	keyA := s3Key("111111111111", end)
	keyB := "AWSLogs/111111111111/vpcflowlogs/us-east-1/2024/03/11/with space=1.log.gz"
	keyC := s3Key("111111111111", end.Add(time.Hour))
	s3test.Put(t, client, bucket, keyA, s3test.Gzip(s3test.FlowLog("111111111111", end, 100, 1)))
	s3test.Put(t, client, bucket, keyB, s3test.Gzip(s3test.FlowLog("111111111111", end, 50, 2)))
	s3test.Put(t, client, bucket, keyC, s3test.Gzip(s3test.FlowLog("111111111111", end, 7, 3)))

	fake := sqstest.Start(t)
	qurl := fake.CreateQueue("flow-events")
	sq := awssqs.NewFromConfig(aws.Config{Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")}, func(o *awssqs.Options) {
		o.BaseEndpoint = aws.String(fake.URL)
	})
	send := func(body string) {
		t.Helper()
		if _, err := sq.SendMessage(context.Background(), &awssqs.SendMessageInput{QueueUrl: &qurl, MessageBody: &body}); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(t.TempDir(), "f.duckdb")
	t.Setenv("AWS_ENDPOINT_URL_SQS", fake.URL)
	run := func(extra ...string) (string, int) {
		args := append([]string{"ingest", "sqs://flow-events", "--db", db, "--endpoint-url", srv.URL, "--s3-path-style",
			"--once", "--wait", "0s", "--visibility-timeout", "1s"}, extra...)
		_, errs, code := flowlens(t, args...)
		return errs, code
	}
	count := func() int {
		out := must(t, "query", "SELECT count(*) FROM flows", "--db", db, "-o", "csv")
		n, err := strconv.Atoi(strings.TrimSpace(strings.Split(out, "\n")[1]))
		if err != nil {
			t.Fatalf("count: %q", out)
		}
		return n
	}

	send(s3Event(bucket, keyA))
	send(snsWrap(s3Event(bucket, keyB)))
	send(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-03-11T00:00:00Z","Bucket":"` + bucket + `"}`)
	send(s3Event(bucket, keyA)) // S3 may notify twice

	// Crash between reading and committing: nothing is deleted.
	cli.SetBeforeSQSCommit(func() error { return errors.New("killed before commit") })
	errs, code := run()
	cli.SetBeforeSQSCommit(nil)
	if code == 0 || !strings.Contains(errs, "killed before commit") {
		t.Fatalf("crash run: exit %d: %s", code, errs)
	}
	if n, d := fake.Len("flow-events"), fake.Calls("DeleteMessage"); n != 4 || d != 0 {
		t.Fatalf("after the crash: %d messages, %d deletes; want 4 and 0", n, d)
	}
	// Still hidden: a run now finds nothing.
	if errs, code = run(); code != 0 || !strings.Contains(errs, "0 records ingested") {
		t.Fatalf("run while hidden: exit %d: %s", code, errs)
	}
	time.Sleep(1100 * time.Millisecond)
	if errs, code = run(); code != 0 || !strings.Contains(errs, "150 records ingested") {
		t.Fatalf("redelivery run: exit %d: %s", code, errs)
	}
	if got := count(); got != 150 {
		t.Fatalf("rows %d, want 150", got)
	}
	if n := fake.Len("flow-events"); n != 0 {
		t.Fatalf("%d messages left after commit", n)
	}
	// A repeated notification of a committed object adds nothing.
	send(snsWrap(s3Event(bucket, keyA)))
	if errs, code = run(); code != 0 || count() != 150 || fake.Len("flow-events") != 0 {
		t.Fatalf("repeat: exit %d, rows %d: %s", code, count(), errs)
	}

	// Visibility is extended while a batch takes longer than the timeout:
	// another receiver sees nothing meanwhile.
	send(s3Event(bucket, keyC))
	var stolen int
	cli.SetBeforeSQSCommit(func() error {
		time.Sleep(1600 * time.Millisecond)
		out, err := sq.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{QueueUrl: &qurl, MaxNumberOfMessages: 10})
		if err != nil {
			return err
		}
		stolen = len(out.Messages)
		return nil
	})
	errs, code = run()
	cli.SetBeforeSQSCommit(nil)
	if code != 0 || stolen != 0 || fake.Calls("ChangeMessageVisibility") < 2 {
		t.Fatalf("slow batch: exit %d, %d messages visible to others, %d extensions: %s", code, stolen, fake.Calls("ChangeMessageVisibility"), errs)
	}
	if got := count(); got != 157 {
		t.Fatalf("rows %d, want 157", got)
	}

	// A poison message is set aside after --max-receives deliveries.
	send(s3Event(bucket, "AWSLogs/poison.log.gz"))
	cli.SetBeforeSQSCommit(func() error { return errors.New("crash") })
	run("--max-receives", "1")
	cli.SetBeforeSQSCommit(nil)
	time.Sleep(1100 * time.Millisecond)
	errs, code = run("--max-receives", "1")
	if code != 0 || !strings.Contains(errs, "set aside") || fake.Len("flow-events") != 0 {
		t.Fatalf("poison: exit %d, %d left: %s", code, fake.Len("flow-events"), errs)
	}
}
