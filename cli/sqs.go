package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/source"
	s3src "github.com/flowlens/flowlens/source/s3"
	"github.com/flowlens/flowlens/source/sqs"
	"github.com/flowlens/flowlens/store"
)

// sqsFlags tune continuous ingestion from an SQS queue.
type sqsFlags struct {
	once        bool
	maxReceives int
	visibility  time.Duration
	wait        time.Duration
}

func (q *sqsFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.BoolVar(&q.once, "once", false, "sqs://: process the messages waiting in the queue, then exit")
	fl.IntVar(&q.maxReceives, "max-receives", 5, "sqs://: a message received more often than this is logged and deleted (0: never; leave it to the queue's dead-letter policy)")
	fl.DurationVar(&q.visibility, "visibility-timeout", 5*time.Minute, "sqs://: how long received messages stay hidden; extended while their objects are read")
	fl.DurationVar(&q.wait, "wait", 20*time.Second, "sqs://: long-poll time of one receive")
}

// beforeSQSCommit, when set (tests), runs after a batch's objects are read
// and before their transaction commits; an error aborts the run there, as
// a crash would.
var beforeSQSCommit func() error

// isSQS reports whether args name a queue.
func isSQS(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "sqs://") {
			return true
		}
	}
	return false
}

// ingestSQS ingests the S3 objects announced on a queue. A message is
// deleted only after the transaction holding its objects committed, so a
// crash leaves it to come back after its visibility timeout (at-least-once
// delivery; the ingest ledger turns it into exactly-once rows).
func ingestSQS(ctx context.Context, e *env, sf *storeFlags, qf *sqsFlags, args []string) error {
	if len(args) != 1 {
		return usagef("ingest takes one sqs:// queue, and no other SOURCE with it")
	}
	if qf.visibility < time.Second {
		return usagef("--visibility-timeout must be at least 1s")
	}
	s3cfg, err := sf.aws.s3Config(time.Now())
	if err != nil {
		return err
	}
	queueArg, endpoint, isURL := sqs.Target(args[0])
	if queueArg == "" {
		return usagef("%s: no queue", args[0])
	}
	ac, err := s3src.LoadAWS(ctx, s3cfg)
	if err != nil {
		return err
	}
	client := awssqs.NewFromConfig(ac, func(o *awssqs.Options) {
		if endpoint != "" && !strings.HasSuffix(endpoint, ".amazonaws.com") {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	q, err := sqs.Open(ctx, client, queueArg, isURL)
	if err != nil {
		return err
	}
	s3client, err := s3src.NewClient(ctx, s3cfg)
	if err != nil {
		return err
	}
	objs, err := s3src.New(s3client, s3cfg)
	if err != nil {
		return &UsageError{err}
	}
	sf.aws.remote = true
	st, _, err := sf.openWritable()
	if err != nil {
		return err
	}
	defer st.Close()
	var total int64
	for {
		msgs, err := q.Receive(ctx, 10, qf.wait, qf.visibility)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if len(msgs) == 0 {
			if qf.once || ctx.Err() != nil {
				fmt.Fprintf(e.stderr, "flowlens: %s: queue drained, %d records ingested\n", q.URL(), total)
				return nil
			}
			continue
		}
		n, err := ingestMessages(ctx, e, sf, qf, q, objs, st, msgs)
		total += n
		if err != nil {
			return err
		}
	}
}

// ingestMessages ingests the objects of one batch of messages in one
// transaction, then deletes the messages.
func ingestMessages(ctx context.Context, e *env, sf *storeFlags, qf *sqsFlags, q *sqs.Queue, objs *s3src.Source,
	st store.Store, msgs []sqs.Message) (int64, error) {
	stop := q.KeepHidden(ctx, msgs, qf.visibility, func(err error) {
		fmt.Fprintf(e.stderr, "flowlens: warning: %v\n", err)
	})
	defer stop()
	var done []sqs.Message // messages to delete after the commit
	var todo []source.Input
	objectsOf := map[string][]string{} // message ID -> names of its objects to read
	sink, err := newStoreSink(ctx, st, nil, sf.filler())
	if err != nil {
		return 0, err
	}
	defer func() { sink.tx.Rollback() }()
	for _, m := range msgs {
		notes, test, err := sqs.ParseBody(m.Body)
		switch {
		case test:
			done = append(done, m)
			continue
		case errors.Is(err, sqs.ErrMalformed):
			fmt.Fprintf(e.stderr, "flowlens: error: message %s set aside (deleted): %v\n", m.ID, err)
			done = append(done, m)
			continue
		case qf.maxReceives > 0 && m.Receives > qf.maxReceives:
			fmt.Fprintf(e.stderr, "flowlens: error: message %s received %d times (more than --max-receives %d): set aside (deleted): %s\n",
				m.ID, m.Receives, qf.maxReceives, m.Body)
			done = append(done, m)
			continue
		}
		ok := true
		for _, n := range notes {
			obj, err := objs.Object(ctx, n.Bucket, n.Key)
			if err != nil {
				var nf interface{ ErrorCode() string }
				if errors.As(err, &nf) && (nf.ErrorCode() == "NotFound" || nf.ErrorCode() == "NoSuchKey") {
					fmt.Fprintf(e.stderr, "flowlens: warning: %v: object gone, skipped\n", err)
					continue
				}
				fmt.Fprintf(e.stderr, "flowlens: error: message %s: %v (left for redelivery)\n", m.ID, err)
				ok = false
				break
			}
			id := objectOf(obj)
			if _, seen := sink.objects[obj.Name()]; seen {
				continue
			}
			status, err := st.Check(ctx, id)
			if err != nil {
				return 0, err
			}
			if status == store.StatusUnchanged {
				continue
			}
			sink.objects[obj.Name()] = id
			todo = append(todo, obj)
			objectsOf[m.ID] = append(objectsOf[m.ID], obj.Name())
		}
		if ok {
			done = append(done, m)
		}
	}
	var recs int64
	failed := map[string]bool{}
	if len(todo) > 0 {
		rep, err := readInputs(ctx, e, &sf.sourceFlags, todo, schema.All(), sink)
		if err != nil && rep == nil {
			return 0, err
		}
		recs = sink.records
		if rep != nil {
			for _, in := range rep.Inputs {
				if in.Err != nil {
					failed[in.Name] = true
				}
			}
		}
	}
	// A message whose object could not be read stays on the queue: the
	// object was left out of the ledger and comes back with it.
	keep := done[:0]
	for _, m := range done {
		bad := false
		for _, name := range objectsOf[m.ID] {
			bad = bad || failed[name]
		}
		if bad {
			fmt.Fprintf(e.stderr, "flowlens: error: message %s: an object could not be read; left for redelivery\n", m.ID)
			continue
		}
		keep = append(keep, m)
	}
	done = keep
	if beforeSQSCommit != nil {
		if err := beforeSQSCommit(); err != nil {
			return 0, err
		}
	}
	if err := sink.tx.Commit(ctx); err != nil {
		return 0, err
	}
	stop()
	for _, m := range done {
		if err := q.Delete(ctx, m); err != nil {
			return recs, err
		}
	}
	fmt.Fprintf(e.stderr, "flowlens: %d message(s), %d object(s), %d records committed\n", len(msgs), len(todo), recs)
	return recs, nil
}
