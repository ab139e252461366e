// Package source reads flow-log objects (local files, stdin, and later S3
// objects and CloudWatch events) and turns them into record batches.
//
// The pipeline: for each input a producer opens and decompresses it and
// cuts it into chunks of whole lines; a pool of workers parses chunks in
// parallel; one consumer hands the batches to the Sink in input order.
// Memory is bounded by the number of inputs in flight and the chunks each
// may have queued, whatever the size of the input.
package source

import (
	"context"
	"io"
	"os"

	"github.com/flowlens/flowlens/flowlog"
)

// Input is one object to read.
type Input interface {
	// Name identifies the input in messages and as the row's source.
	Name() string
	// Size is the stored size in bytes, or -1 when unknown (stdin).
	Size() int64
	// Open returns the object's bytes as stored (possibly compressed).
	Open(ctx context.Context) (io.ReadCloser, error)
}

// ReaderAtInput is an Input that also supports random access; Parquet
// objects need it. Inputs without it are spooled to a temporary file.
type ReaderAtInput interface {
	Input
	OpenReaderAt(ctx context.Context) (ReaderAtCloser, error)
}

// ReaderAtCloser is an io.ReaderAt that must be closed.
type ReaderAtCloser interface {
	io.ReaderAt
	io.Closer
}

// Sink receives parsed records.
//
// Batch is called from a single goroutine, in input order; the batch is
// valid only until Batch returns. An error stops the run.
type Sink interface {
	Batch(b *flowlog.Batch) error
}

// FileSink is a Sink that also wants to know where each input starts and
// ends (the store uses it to commit an input together with its rows).
type FileSink interface {
	Sink
	BeginInput(in Input) error
	// EndInput reports the input's outcome; res.Err is set when the input
	// could not be read to its end (its earlier batches were delivered).
	EndInput(in Input, res *InputResult) error
}

// ParallelSink is a Sink that can consume batches on the parsing
// goroutines, concurrently and in no particular order, for work where order
// does not matter (aggregation). Batches decoded outside the workers
// (JSON, Parquet) still go to Batch, on the consumer goroutine.
type ParallelSink interface {
	Sink
	// Workers is called once, before any batch, with the number of workers.
	Workers(n int)
	// WorkerBatch consumes a batch on worker w's goroutine; calls with the
	// same w never overlap. The batch is valid until it returns.
	WorkerBatch(w int, b *flowlog.Batch) error
	// Undo reverses an earlier WorkerBatch whose rows turned out to be
	// parsed with the wrong format (a header line in an earlier chunk
	// changed it); Batch then receives the rows parsed again. Undo is
	// called on the consumer goroutine.
	Undo(b *flowlog.Batch) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(b *flowlog.Batch) error

// Batch calls f.
func (f SinkFunc) Batch(b *flowlog.Batch) error { return f(b) }

// InputResult is what reading one input produced.
type InputResult struct {
	Name   string
	Kind   string // "text", "gzip", "json", "parquet"
	Bytes  int64  // bytes read as stored
	Stats  flowlog.Stats
	Errors []flowlog.ParseError // the first bad records, with absolute line numbers
	Err    error                // an I/O or decoding error that ended the input early
}

// stdinInput reads standard input.
type stdinInput struct{}

// Stdin is the Input for "-".
var Stdin Input = stdinInput{}

func (stdinInput) Name() string { return "-" }
func (stdinInput) Size() int64  { return -1 }
func (stdinInput) Open(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(os.Stdin), nil
}
