package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/flowlens/flowlens/internal/hugemem"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/schema"
)

// Config tunes a run.
type Config struct {
	// Format is used for inputs without a header line (CloudWatch exports,
	// headerless files). Nil means the default v2 format.
	Format *flowlog.Format
	// Want is the set of fields to decode and store; others are checked
	// but not kept. The zero value means every field.
	Want schema.Set
	// Workers is the number of parsing goroutines; 0 means GOMAXPROCS.
	Workers int
	// ChunkSize is the size of the runs of lines handed to workers.
	ChunkSize int
	// MaxLine bounds the length of one line (a CloudWatch payload delivered
	// as one JSON line can be large); longer lines are reported as bad.
	MaxLine int
	// InputsInFlight bounds the inputs read at the same time; 0 means
	// Workers+1.
	InputsInFlight int
	// ChunksPerInput bounds the chunks one input may have queued.
	ChunksPerInput int
	// Strict makes the first bad record end the run with an error.
	Strict bool
	// KeepErrors is how many bad records are kept in full in the Report.
	KeepErrors int
	// Progress, when set, is called with the number of stored bytes read,
	// from several goroutines.
	Progress func(n int64)
	// Parquet reads a Parquet object; nil means Parquet inputs are errors.
	Parquet ParquetReader
}

// ParquetReader decodes a Parquet object into batches.
type ParquetReader func(ctx context.Context, r io.ReaderAt, size int64, name string, want schema.Set,
	emit func(*flowlog.Batch) error) (flowlog.Stats, []flowlog.ParseError, error)

// DefaultConfig returns the settings used by the CLI.
func DefaultConfig() Config {
	return Config{
		Workers:        runtime.GOMAXPROCS(0),
		ChunkSize:      1 << 20,
		MaxLine:        64 << 20,
		ChunksPerInput: 4,
		KeepErrors:     5,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Workers <= 0 {
		c.Workers = d.Workers
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = d.ChunkSize
	}
	if c.MaxLine <= 0 {
		c.MaxLine = d.MaxLine
	}
	if c.MaxLine < c.ChunkSize {
		c.MaxLine = c.ChunkSize
	}
	if c.InputsInFlight <= 0 {
		c.InputsInFlight = c.Workers + 1
	}
	if c.ChunksPerInput <= 0 {
		c.ChunksPerInput = d.ChunksPerInput
	}
	if c.KeepErrors <= 0 {
		c.KeepErrors = d.KeepErrors
	}
	if c.Format == nil {
		c.Format = flowlog.V2
	}
	if c.Want == (schema.Set{}) {
		c.Want = schema.All()
	}
}

// Report summarises a run.
type Report struct {
	Inputs []*InputResult
	Total  flowlog.Stats
	// Errors holds the first bad records over all inputs.
	Errors []flowlog.ParseError
	// Failed counts inputs that ended early with an error.
	Failed int
}

// ErrStrict wraps the first bad record when Config.Strict is set.
var ErrStrict = errors.New("bad record in strict mode")

// job is a chunk of lines, or a batch already decoded by a producer.
type job struct {
	data     []byte
	buf      *[]byte
	format   *flowlog.Format // format the worker starts with
	batch    *flowlog.Batch
	chunk    flowlog.Chunk
	done     chan struct{}
	prepared bool  // batch and chunk were filled by the producer
	consumed bool  // a worker handed the batch to a ParallelSink
	werr     error // the ParallelSink's error
}

type inputState struct {
	in    Input
	queue chan *job
	res   *InputResult
}

// Run reads the inputs and hands their records to sink in order.
func Run(ctx context.Context, cfg Config, inputs []Input, sink Sink) (*Report, error) {
	cfg.fill()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &runner{cfg: cfg, ctx: ctx}
	r.bufPool.New = func() any { b := hugemem.Make[byte](cfg.ChunkSize + cfg.ChunkSize/4)[:0]; return &b }
	r.batchPool.New = func() any { return flowlog.NewBatch() }

	work := make(chan *job, cfg.Workers*cfg.ChunksPerInput)
	psink, _ := sink.(ParallelSink)
	if psink != nil {
		psink.Workers(cfg.Workers)
	}
	var wg sync.WaitGroup
	for w := range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.worker(w, work, psink)
		}()
	}

	states := make([]*inputState, len(inputs))
	for i, in := range inputs {
		states[i] = &inputState{in: in, queue: make(chan *job, cfg.ChunksPerInput),
			res: &InputResult{Name: in.Name()}}
	}
	slots := make(chan struct{}, cfg.InputsInFlight)
	var pwg sync.WaitGroup
	go func() {
		for _, st := range states {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				// Close the remaining queues so the consumer does not wait.
				close(st.queue)
				continue
			}
			pwg.Add(1)
			go func() {
				defer pwg.Done()
				r.produce(st, work)
			}()
		}
		pwg.Wait()
		close(work)
	}()

	rep := &Report{}
	err := r.consume(states, slots, sink, rep)
	cancel()
	// Drain so producers and workers finish.
	for _, st := range states {
		for j := range st.queue {
			<-j.done
		}
	}
	wg.Wait()
	return rep, err
}

type runner struct {
	cfg       Config
	ctx       context.Context
	bufPool   sync.Pool
	batchPool sync.Pool
}

func (r *runner) worker(w int, work <-chan *job, psink ParallelSink) {
	p := flowlog.NewParser(r.cfg.Format, r.cfg.Want)
	for j := range work {
		p.SetFormat(j.format)
		j.batch = r.batchPool.Get().(*flowlog.Batch)
		p.ParseChunk(j.data, j.batch, &j.chunk)
		// In strict mode a chunk with a bad record ends the run: leave it
		// to the consumer, which reports it.
		if psink != nil && j.batch.N > 0 && !(r.cfg.Strict && j.chunk.Stats.Bad > 0) {
			j.werr = psink.WorkerBatch(w, j.batch)
			j.consumed = true
		}
		close(j.done)
	}
}

// consume delivers the inputs' batches in order.
func (r *runner) consume(states []*inputState, slots chan struct{}, sink Sink, rep *Report) error {
	fsink, _ := sink.(FileSink)
	psink, _ := sink.(ParallelSink)
	reparse := flowlog.NewParser(r.cfg.Format, r.cfg.Want)
	for _, st := range states {
		res := st.res
		if fsink != nil {
			if err := fsink.BeginInput(st.in); err != nil {
				return err
			}
		}
		var line int64 // lines before the current chunk
		var cur *flowlog.Format
		for j := range st.queue {
			<-j.done
			if j.werr != nil {
				r.release(j)
				return j.werr
			}
			if !j.prepared && cur != nil && !j.format.Equal(cur) {
				// A header inside the previous chunk changed the format:
				// parse this chunk again with the one in effect.
				if j.consumed {
					if err := psink.Undo(j.batch); err != nil {
						r.release(j)
						return err
					}
					j.consumed = false
				}
				r.batchPool.Put(j.batch)
				j.batch = r.batchPool.Get().(*flowlog.Batch)
				reparse.SetFormat(cur)
				reparse.ParseChunk(j.data, j.batch, &j.chunk)
			}
			if j.chunk.EndFormat != nil {
				cur = j.chunk.EndFormat
			}
			b := j.batch
			b.Source = res.Name
			b.Line = line + 1
			res.Stats.Add(&j.chunk.Stats)
			for _, e := range j.chunk.Errors {
				e.Source = res.Name
				if !j.prepared {
					e.Line += line
				}
				if len(res.Errors) < r.cfg.KeepErrors {
					res.Errors = append(res.Errors, e)
				}
				if len(rep.Errors) < r.cfg.KeepErrors {
					rep.Errors = append(rep.Errors, e)
				}
			}
			if !j.prepared {
				line += j.chunk.Stats.Lines
			}
			var err error
			if r.cfg.Strict && j.chunk.Stats.Bad > 0 {
				e := j.chunk.Errors[0]
				e.Source = res.Name
				if !j.prepared {
					e.Line += line - j.chunk.Stats.Lines
				}
				err = fmt.Errorf("%w: %w", ErrStrict, &e)
			} else if b.N > 0 && !j.consumed {
				err = sink.Batch(b)
			}
			r.release(j)
			if err != nil {
				return err
			}
		}
		<-slots
		rep.Inputs = append(rep.Inputs, res)
		rep.Total.Add(&res.Stats)
		if res.Err != nil {
			rep.Failed++
			if errors.Is(res.Err, context.Canceled) {
				return res.Err
			}
		}
		if fsink != nil {
			if err := fsink.EndInput(st.in, res); err != nil {
				return err
			}
		}
		if err := r.ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) release(j *job) {
	if j.buf != nil {
		*j.buf = (*j.buf)[:0]
		r.bufPool.Put(j.buf)
	}
	if j.batch != nil {
		r.batchPool.Put(j.batch)
	}
}

// countingReader reports progress and counts bytes.
type countingReader struct {
	r        io.Reader
	n        *int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(int64(n))
	}
	return n, err
}

// produce opens one input, detects its kind and queues its chunks.
func (r *runner) produce(st *inputState, work chan<- *job) {
	defer close(st.queue)
	res := st.res
	err := r.produceInput(st, work)
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", st.in.Name(), err)
	}
}

func (r *runner) produceInput(st *inputState, work chan<- *job) error {
	rc, err := st.in.Open(r.ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	res := st.res
	br := bufio.NewReaderSize(&countingReader{r: rc, n: &res.Bytes, progress: r.cfg.Progress}, 64<<10)
	head, _ := br.Peek(4)
	var body io.Reader = br
	res.Kind = "text"
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		res.Kind = "gzip"
		br = bufio.NewReaderSize(zr, 64<<10)
		body = br
		head, _ = br.Peek(4)
		if bytes.Equal(head, []byte("PAR1")) {
			return r.produceParquet(st, br, nil)
		}
	case bytes.Equal(head, []byte("PAR1")):
		return r.produceParquet(st, br, st.in)
	}
	if first := firstNonSpace(br); first == '{' || first == '[' {
		res.Kind = "json"
		return r.produceJSON(st, br)
	}
	return r.produceText(st, body, work)
}

func firstNonSpace(br *bufio.Reader) byte {
	for n := 1; n <= 4096; n *= 2 {
		b, _ := br.Peek(n)
		for _, c := range b {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != 0xef && c != 0xbb && c != 0xbf {
				return c
			}
		}
		if len(b) < n {
			return 0
		}
	}
	return 0
}

// produceText cuts the stream into chunks of whole lines.
func (r *runner) produceText(st *inputState, body io.Reader, work chan<- *job) error {
	format := r.cfg.Format
	var carry []byte
	var readErr error
	first := true
	eof := false
	for !eof {
		bp := r.bufPool.Get().(*[]byte)
		buf := append((*bp)[:0], carry...)
		target := len(buf) + r.cfg.ChunkSize
		for {
			if cap(buf) < target {
				nb := make([]byte, len(buf), target+target/4)
				copy(nb, buf)
				buf = nb
			}
			n, err := fill(body, buf[len(buf):target])
			buf = buf[:len(buf)+n]
			if err != nil {
				// Parse what was read before an error too; the error is
				// returned once those lines are queued.
				eof = true
				if err != io.EOF {
					readErr = err
				}
			}
			// The carried part holds no line end; look in what was read.
			if eof || bytes.IndexByte(buf[len(buf)-n:], '\n') >= 0 {
				break
			}
			// No line end yet: the line is longer than a chunk.
			if len(buf) >= r.cfg.MaxLine {
				*bp = buf
				r.bufPool.Put(bp)
				return fmt.Errorf("line longer than %d bytes", r.cfg.MaxLine)
			}
			target = 2 * len(buf)
		}
		cut := len(buf)
		if !eof {
			cut = bytes.LastIndexByte(buf, '\n') + 1
		}
		carry = append(carry[:0], buf[cut:]...)
		*bp = buf
		data := buf[:cut]
		if first {
			first = false
			data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
			if f := headerFormat(data); f != nil {
				format = f
			}
		}
		if len(data) == 0 {
			r.bufPool.Put(bp)
			continue
		}
		j := &job{data: data, buf: bp, format: format, done: make(chan struct{})}
		select {
		case st.queue <- j:
		case <-r.ctx.Done():
			r.bufPool.Put(bp)
			return r.ctx.Err()
		}
		select {
		case work <- j:
		case <-r.ctx.Done():
			// The consumer drains the queue; mark the job finished.
			j.batch = r.batchPool.Get().(*flowlog.Batch)
			j.batch.Reset(schema.Set{})
			close(j.done)
			return r.ctx.Err()
		}
	}
	return readErr
}

// fill reads until p is full or the reader fails; a clean end of stream is
// io.EOF (unlike io.ReadFull, a truncated gzip's io.ErrUnexpectedEOF is kept
// as the error it is).
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// headerFormat returns the format of a header on the first non-blank line.
func headerFormat(data []byte) *flowlog.Format {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if f, ok := flowlog.ParseHeader(line); ok {
			return f
		}
		return nil
	}
	return nil
}

// batchRows is the size of batches decoded outside the chunk workers.
const batchRows = 4096

// produceJSON decodes a stream of JSON values: CloudWatch Logs subscription
// payloads (possibly concatenated, as Firehose writes them), {"message"}
// wrappers, flat records, or arrays of those.
func (r *runner) produceJSON(st *inputState, br *bufio.Reader) error {
	p := flowlog.NewParser(r.cfg.Format, r.cfg.Want)
	dec := json.NewDecoder(br)
	var j *job
	var idx int64
	start := func() {
		j = &job{prepared: true, format: p.Format(), done: make(chan struct{})}
		j.batch = r.batchPool.Get().(*flowlog.Batch)
		p.StartBatch(j.batch, &j.chunk)
		j.chunk.Errors = nil
	}
	flush := func() error {
		p.Finish(&j.chunk)
		close(j.done)
		select {
		case st.queue <- j:
			return nil
		case <-r.ctx.Done():
			r.batchPool.Put(j.batch)
			return r.ctx.Err()
		}
	}
	start()
	var handle func(raw json.RawMessage) error
	handle = func(raw json.RawMessage) error {
		idx++
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 && raw[0] == '[' {
			var arr []json.RawMessage
			if err := json.Unmarshal(raw, &arr); err != nil {
				return err
			}
			for _, e := range arr {
				if err := handle(e); err != nil {
					return err
				}
			}
			return nil
		}
		j.chunk.Stats.Lines++
		j.chunk.Stats.JSONLines++
		p.ParseJSON(raw, idx, j.batch, &j.chunk)
		if j.batch.N >= batchRows {
			if err := flush(); err != nil {
				return err
			}
			start()
		}
		return nil
	}
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			break
		}
		if err != nil {
			_ = flush()
			return fmt.Errorf("JSON value %d: %w", idx+1, err)
		}
		if err := handle(raw); err != nil {
			_ = flush()
			return fmt.Errorf("JSON value %d: %w", idx, err)
		}
	}
	return flush()
}

// produceParquet decodes a Parquet object. ra is the input when it supports
// random access; otherwise the stream is spooled to a temporary file.
func (r *runner) produceParquet(st *inputState, body io.Reader, in Input) error {
	st.res.Kind = "parquet"
	if r.cfg.Parquet == nil {
		return errors.New("Parquet input is not supported in this build")
	}
	var ra io.ReaderAt
	var size int64
	if rai, ok := in.(ReaderAtInput); ok {
		f, err := rai.OpenReaderAt(r.ctx)
		if err != nil {
			return err
		}
		defer f.Close()
		ra, size = f, in.Size()
	} else {
		tmp, err := os.CreateTemp("", "flowlens-*.parquet")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		if size, err = io.Copy(tmp, body); err != nil {
			return fmt.Errorf("spooling Parquet: %w", err)
		}
		ra = tmp
	}
	emit := func(b *flowlog.Batch) error {
		// The reader reuses b: copy it into a pooled batch for the consumer.
		nb := r.batchPool.Get().(*flowlog.Batch)
		nb.Reset(b.Present)
		for i := 0; i < b.N; i++ {
			nb.AppendRowFrom(b, i)
		}
		j := &job{prepared: true, batch: nb, done: make(chan struct{})}
		close(j.done)
		select {
		case st.queue <- j:
			return nil
		case <-r.ctx.Done():
			return r.ctx.Err()
		}
	}
	stats, perrs, err := r.cfg.Parquet(r.ctx, ra, size, st.in.Name(), r.cfg.Want, emit)
	// Stats and errors of the whole object ride on a final empty job.
	j := &job{prepared: true, done: make(chan struct{})}
	j.batch = r.batchPool.Get().(*flowlog.Batch)
	j.batch.Reset(schema.Set{})
	j.chunk.Stats = stats
	j.chunk.Errors = perrs
	close(j.done)
	select {
	case st.queue <- j:
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	return err
}

// ReasonSummary renders bad-record counts by reason, most frequent first.
func ReasonSummary(s *flowlog.Stats) string {
	type kv struct {
		k string
		v int64
	}
	var kvs []kv
	for k, v := range s.Reasons {
		kvs = append(kvs, kv{k, v})
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].v > kvs[j].v || kvs[i].v == kvs[j].v && kvs[i].k < kvs[j].k })
	parts := make([]string, len(kvs))
	for i, e := range kvs {
		parts[i] = fmt.Sprintf("%s: %d", e.k, e.v)
	}
	return strings.Join(parts, ", ")
}
