package cwl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/flowlens/flowlens/source"
	"github.com/flowlens/flowlens/store"
)

// Locator is implemented by inputs whose lines come from somewhere else
// than a file: Locate names where line n (1-based) of the input came from,
// for error messages.
type Locator interface {
	Locate(line int64) (string, bool)
}

// place is where one line of an input came from.
type place struct {
	stream string
	id     string
}

// locations maps line numbers to events.
type locations struct {
	mu     sync.Mutex
	target Target
	lines  []place
}

func (l *locations) add(stream, id string) {
	l.mu.Lock()
	l.lines = append(l.lines, place{stream, id})
	l.mu.Unlock()
}

// Locate names the stream and event of line n.
func (l *locations) Locate(n int64) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 1 || n > int64(len(l.lines)) {
		return "", false
	}
	p := l.lines[n-1]
	return fmt.Sprintf("%s://%s/%s event %s", Scheme, l.target.Group, p.stream, p.id), true
}

// Input streams every event of the source's time range (Config.Since,
// Until) as text, one line per event, in event-time order. It keeps no
// state: every Open reads the range again.
type Input struct {
	src   *Source
	locs  locations
	mu    sync.Mutex
	stats ScanStats
}

var (
	_ source.Input = (*Input)(nil)
	_ Locator      = (*Input)(nil)
)

// Input returns the source's events as one input. Call Resolve first
// when the URL may name several groups.
func (s *Source) Input() *Input { return &Input{src: s, locs: locations{target: s.target}} }

// Name is cwl://group[/prefix].
func (in *Input) Name() string { return in.src.Name() }

// Size is unknown (-1).
func (in *Input) Size() int64 { return -1 }

// Stats returns the requests and events read by the last Open.
func (in *Input) Stats() ScanStats {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stats
}

// Locate names the stream and event id of line n of the last Open.
func (in *Input) Locate(n int64) (string, bool) { return in.locs.Locate(n) }

// Open starts paging through the events; the reader yields their messages
// as lines. A request that fails (after the retryer gave up) ends the
// stream with that error.
func (in *Input) Open(ctx context.Context) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	in.locs.mu.Lock()
	in.locs.lines = in.locs.lines[:0]
	in.locs.mu.Unlock()
	go func() {
		var st ScanStats
		var buf []byte
		start, end := in.src.timeRange()
		err := in.src.scan(ctx, start, end, &st, func(evs []types.FilteredLogEvent) error {
			buf = buf[:0]
			for i := range evs {
				e := eventOf(&evs[i])
				buf = appendLine(buf, e.Message)
				in.locs.add(e.Stream, e.ID)
			}
			_, err := pw.Write(buf)
			return err
		})
		in.mu.Lock()
		in.stats = st
		in.mu.Unlock()
		pw.CloseWithError(err)
	}()
	return &pipeReader{PipeReader: pr, cancel: cancel}, nil
}

// pipeReader stops the paging goroutine when the reader is closed.
type pipeReader struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (p *pipeReader) Close() error {
	p.cancel()
	return p.PipeReader.Close()
}

// BatchInput is a Batch's events as one source.Input: one line per event,
// and a ledger identity of its own (the first event's id, which no other
// batch holds).
type BatchInput struct {
	b    *Batch
	data []byte
	locs locations
}

var (
	_ source.Input = (*BatchInput)(nil)
	_ Locator      = (*BatchInput)(nil)
)

// Input returns the batch's events as one input.
func (b *Batch) Input() *BatchInput {
	bi := &BatchInput{b: b, locs: locations{target: b.Target}}
	size := 0
	for i := range b.Events {
		size += len(b.Events[i].Message) + 1
	}
	bi.data = make([]byte, 0, size)
	bi.locs.lines = make([]place, 0, len(b.Events))
	for i := range b.Events {
		e := &b.Events[i]
		bi.data = appendLine(bi.data, e.Message)
		bi.locs.lines = append(bi.locs.lines, place{e.Stream, e.ID})
	}
	return bi
}

// Name is cwl://group[/prefix].
func (bi *BatchInput) Name() string { return bi.b.Target.Name() }

// Size is the length of the text.
func (bi *BatchInput) Size() int64 { return int64(len(bi.data)) }

// Open returns the text.
func (bi *BatchInput) Open(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(bi.data)), nil
}

// Locate names the stream and event id of line n.
func (bi *BatchInput) Locate(n int64) (string, bool) { return bi.locs.Locate(n) }

// StoreObject is the batch's ledger identity: cwl://group#first-event-id.
// Event ids are unique and a batch holds only events never committed
// before, so no two batches share it and none replaces another's rows.
func (bi *BatchInput) StoreObject() store.Object {
	id := Scheme + "://" + bi.b.Target.Group
	if len(bi.b.Events) > 0 {
		id += "#" + bi.b.Events[0].ID
	}
	return store.Object{ID: id, Size: int64(len(bi.data))}
}
