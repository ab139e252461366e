// Package sqs receives S3 ObjectCreated notifications from an SQS queue
// (directly or wrapped in SNS envelopes) for continuous ingestion. It owns
// the queue side only: receiving, extending the visibility of messages
// being worked on, and deleting them once the caller has committed their
// objects.
package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Notification is one S3 object an event names.
type Notification struct {
	// Event is the event name, e.g. ObjectCreated:Put.
	Event string
	// Bucket and Key locate the object; Key is URL-decoded.
	Bucket, Key string
	// Size and ETag are as the event reports them.
	Size int64
	ETag string
}

// s3Event is the JSON of an S3 event notification.
type s3Event struct {
	Event   string `json:"Event"` // "s3:TestEvent" in the test message
	Records []struct {
		EventSource string `json:"eventSource"`
		EventName   string `json:"eventName"`
		S3          struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key  string `json:"key"`
				Size int64  `json:"size"`
				ETag string `json:"eTag"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// snsEnvelope is an SNS notification delivered to SQS (raw delivery off).
type snsEnvelope struct {
	Type    string `json:"Type"`
	Message string `json:"Message"`
}

// ErrMalformed marks a message body that is not an S3 event.
var ErrMalformed = errors.New("not an S3 event notification")

// ParseBody reads the S3 objects created according to a message body. test
// is true for the s3:TestEvent S3 sends when notifications are set up.
// Events other than ObjectCreated are ignored.
func ParseBody(body string) (objs []Notification, test bool, err error) {
	var env snsEnvelope
	if json.Unmarshal([]byte(body), &env) == nil && env.Type == "Notification" && env.Message != "" {
		body = env.Message
	}
	var ev s3Event
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if ev.Event == "s3:TestEvent" {
		return nil, true, nil
	}
	if ev.Records == nil {
		return nil, false, ErrMalformed
	}
	for _, r := range ev.Records {
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			continue
		}
		// Keys arrive form-encoded: + is a space.
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return nil, false, fmt.Errorf("%w: key %q: %w", ErrMalformed, r.S3.Object.Key, err)
		}
		objs = append(objs, Notification{Event: r.EventName, Bucket: r.S3.Bucket.Name, Key: key,
			Size: r.S3.Object.Size, ETag: r.S3.Object.ETag})
	}
	return objs, false, nil
}

// Message is one received message.
type Message struct {
	ID      string
	Receipt string
	Body    string
	// Receives is the ApproximateReceiveCount (1 on first delivery).
	Receives int
}

// Queue is an SQS queue.
type Queue struct {
	client *awssqs.Client
	url    string
}

// Target splits the argument of sqs://: a queue URL (with or without
// https://) or a queue name. endpoint is the URL's scheme and host when a
// URL was given.
func Target(arg string) (queue, endpoint string, isURL bool) {
	rest := strings.TrimPrefix(arg, "sqs://")
	if !strings.Contains(rest, "/") {
		return rest, "", false
	}
	if !strings.HasPrefix(rest, "http://") && !strings.HasPrefix(rest, "https://") {
		rest = "https://" + rest
	}
	u, err := url.Parse(rest)
	if err != nil || u.Host == "" {
		return rest, "", true
	}
	return rest, u.Scheme + "://" + u.Host, true
}

// Open returns the queue named by a URL or, looked up with GetQueueUrl, a
// name.
func Open(ctx context.Context, client *awssqs.Client, queue string, isURL bool) (*Queue, error) {
	if isURL {
		return &Queue{client: client, url: queue}, nil
	}
	out, err := client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: &queue})
	if err != nil {
		return nil, fmt.Errorf("sqs queue %s: %w", queue, err)
	}
	return &Queue{client: client, url: aws.ToString(out.QueueUrl)}, nil
}

// URL is the queue's URL.
func (q *Queue) URL() string { return q.url }

// Receive waits up to wait for up to max messages, hiding them from other
// receivers for visibility.
func (q *Queue) Receive(ctx context.Context, max int, wait, visibility time.Duration) ([]Message, error) {
	out, err := q.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl:                    &q.url,
		MaxNumberOfMessages:         int32(max),
		WaitTimeSeconds:             int32(wait / time.Second),
		VisibilityTimeout:           int32(visibility / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, fmt.Errorf("sqs %s: receive: %w", q.url, err)
	}
	msgs := make([]Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		msgs = append(msgs, Message{ID: aws.ToString(m.MessageId), Receipt: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Receives: n})
	}
	return msgs, nil
}

// Delete removes a message for good.
func (q *Queue) Delete(ctx context.Context, m Message) error {
	_, err := q.client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: &q.url, ReceiptHandle: &m.Receipt})
	if err != nil {
		return fmt.Errorf("sqs %s: delete %s: %w", q.url, m.ID, err)
	}
	return nil
}

// Extend hides a message for d more from now.
func (q *Queue) Extend(ctx context.Context, m Message, d time.Duration) error {
	_, err := q.client.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{
		QueueUrl: &q.url, ReceiptHandle: &m.Receipt, VisibilityTimeout: int32(d / time.Second)})
	if err != nil {
		return fmt.Errorf("sqs %s: extend %s: %w", q.url, m.ID, err)
	}
	return nil
}

// KeepHidden extends the visibility of msgs by visibility every half
// visibility until the returned stop is called (when their objects are
// committed, or given up).
func (q *Queue) KeepHidden(ctx context.Context, msgs []Message, visibility time.Duration, onErr func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(max(visibility/2, 100*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, m := range msgs {
					if err := q.Extend(ctx, m, visibility); err != nil && ctx.Err() == nil && onErr != nil {
						onErr(err)
					}
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
