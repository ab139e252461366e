// Package s3 reads flow logs from Amazon S3 (or any S3-compatible server):
// it lists s3://bucket/prefix, understands the key layouts AWS writes flow
// logs in so that --since/--until, accounts and regions prune the listing,
// and turns each object into a source.Input that streams the object (or,
// for Parquet, reads it with ranged GETs).
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowlens/flowlens/awsconf"
	"github.com/flowlens/flowlens/source"
	"github.com/flowlens/flowlens/store"
)

// Config says how to reach S3 and which flow logs to read.
type Config struct {
	// Options are the credentials, API region and retries.
	awsconf.Options
	// EndpointURL overrides the S3 endpoint (MinIO, LocalStack). Empty
	// keeps the SDK's resolution, which honours AWS_ENDPOINT_URL_S3 and
	// AWS_ENDPOINT_URL.
	EndpointURL string
	// UsePathStyle addresses buckets as endpoint/bucket/key instead of
	// bucket.endpoint/key (needed by most S3-compatible servers).
	UsePathStyle bool
	// Since and Until bound the record time wanted: objects whose key or
	// file name shows they cannot hold records of [Since, Until) are not
	// listed or read. Zero means unbounded.
	Since, Until time.Time
	// LateSlack is how long after a record's window its file may be
	// written; objects named up to Until+LateSlack are read.
	LateSlack time.Duration
	// Accounts keeps only these account ids (empty: all).
	Accounts []string
	// Regions keeps only flow logs of these regions, as named in the key
	// layout (empty: all).
	Regions []string
	// Concurrency bounds the list requests in flight.
	Concurrency int
}

// DefaultConfig returns the settings the CLI starts from.
func DefaultConfig() Config {
	return Config{
		Options:     awsconf.DefaultOptions(),
		LateSlack:   time.Hour,
		Concurrency: 16,
	}
}

// Validate checks the settings.
func (c *Config) Validate() error {
	if !c.Since.IsZero() && !c.Until.IsZero() && !c.Until.After(c.Since) {
		return errors.New("s3: until must be after since")
	}
	for _, a := range c.Accounts {
		if !isAccountID(a) {
			return fmt.Errorf("s3: account %q is not a 12-digit account id", a)
		}
	}
	for _, r := range c.Regions {
		if !isRegion(r) {
			return fmt.Errorf("s3: %q is not a region name", r)
		}
	}
	if err := c.Options.Validate(); err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	return nil
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Concurrency <= 0 {
		c.Concurrency = d.Concurrency
	}
	if c.LateSlack < 0 {
		c.LateSlack = 0
	}
}

// LoadAWS resolves credentials, region, role and retry policy into an
// aws.Config (shared by the S3 and SQS clients).
func LoadAWS(ctx context.Context, cfg Config) (aws.Config, error) {
	return awsconf.Load(ctx, cfg.Options)
}

// NewClient builds an S3 client from cfg.
func NewClient(ctx context.Context, cfg Config) (*awss3.Client, error) {
	ac, err := LoadAWS(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return awss3.NewFromConfig(ac, func(o *awss3.Options) {
		if cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(cfg.EndpointURL)
		}
		o.UsePathStyle = cfg.UsePathStyle
		// Checksums only where S3 requires them: flow-log objects are
		// gzip or Parquet, which check their own integrity.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}), nil
}

// Source lists flow-log objects.
type Source struct {
	client *awss3.Client
	cfg    Config
	acc    map[string]bool
	reg    map[string]bool
	// Listed counts the list requests sent (for tests and reports).
	mu     sync.Mutex
	listed int
}

// New returns a Source reading through client.
func New(client *awss3.Client, cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.fill()
	s := &Source{client: client, cfg: cfg}
	if len(cfg.Accounts) > 0 {
		s.acc = map[string]bool{}
		for _, a := range cfg.Accounts {
			s.acc[a] = true
		}
	}
	if len(cfg.Regions) > 0 {
		s.reg = map[string]bool{}
		for _, r := range cfg.Regions {
			s.reg[r] = true
		}
	}
	return s, nil
}

// Client returns the S3 client the source uses.
func (s *Source) Client() *awss3.Client { return s.client }

// ListRequests returns the number of list requests sent so far.
func (s *Source) ListRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listed
}

// ParseURL splits s3://bucket/prefix.
func ParseURL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%s: not an s3:// URL", u)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%s: no bucket", u)
	}
	return bucket, prefix, nil
}

// pruning reports whether any restriction applies, so the listing walks
// the layout instead of listing everything under the prefix.
func (s *Source) pruning() bool {
	return !s.cfg.Since.IsZero() || !s.cfg.Until.IsZero() || s.acc != nil || s.reg != nil
}

// Expand lists the objects under an s3:// URL that may hold wanted
// records, in key order.
func (s *Source) Expand(ctx context.Context, u string) ([]source.Input, error) {
	bucket, prefix, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	w := &walker{s: s, ctx: ctx, bucket: bucket, sem: make(chan struct{}, s.cfg.Concurrency)}
	// The position of the prefix's complete segments.
	var p pos
	dir := prefix[:strings.LastIndexByte(prefix, '/')+1]
	for _, seg := range strings.Split(strings.TrimSuffix(dir, "/"), "/") {
		if seg != "" {
			p, _, _ = p.step(seg)
		}
	}
	if s.pruning() {
		w.walk(prefix, p)
	} else {
		w.flat(prefix)
	}
	w.wg.Wait()
	if w.err != nil {
		return nil, w.err
	}
	sort.Slice(w.objs, func(i, j int) bool { return w.objs[i].Key < w.objs[j].Key })
	ins := make([]source.Input, len(w.objs))
	for i, o := range w.objs {
		ins[i] = o
	}
	return ins, nil
}

// Object returns the input for one object, with its current size and
// ETag (HeadObject).
func (s *Source) Object(ctx context.Context, bucket, key string) (*Object, error) {
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	return &Object{client: s.client, Bucket: bucket, Key: key, ETag: strings.Trim(aws.ToString(out.ETag), `"`),
		size: aws.ToInt64(out.ContentLength)}, nil
}

// keepPrefix decides whether a common prefix can hold wanted objects.
func (s *Source) keepPrefix(p pos, kind segKind, val string) bool {
	switch kind {
	case segOtherService:
		return false
	case segAccount:
		return s.acc == nil || s.acc[val]
	case segRegion:
		return s.reg == nil || s.reg[val]
	}
	if from, to, ok := p.span(); ok {
		return s.inRange(from, to)
	}
	return true
}

// inRange reports whether files stamped in [from, to) may hold records of
// the wanted time range.
func (s *Source) inRange(from, to time.Time) bool {
	if !s.cfg.Since.IsZero() && !to.After(s.cfg.Since) {
		return false
	}
	if !s.cfg.Until.IsZero() && !from.Before(s.cfg.Until.Add(s.cfg.LateSlack)) {
		return false
	}
	return true
}

// keepKey decides on one object from its whole key: the layout segments
// and the file name.
func (s *Source) keepKey(key string, size int64) bool {
	if strings.HasSuffix(key, "/") && size == 0 {
		return false // a folder marker
	}
	var p pos
	segs := strings.Split(key, "/")
	for _, seg := range segs[:len(segs)-1] {
		var kind segKind
		var val string
		p, kind, val = p.step(seg)
		if !s.keepPrefix(p, kind, val) {
			return false
		}
	}
	if fi, ok := ParseFileName(key); ok {
		if s.acc != nil && !s.acc[fi.Account] || s.reg != nil && !s.reg[fi.Region] {
			return false
		}
		// Records of a file end at or before its timestamp.
		if !s.inRange(fi.End, fi.End.Add(time.Nanosecond)) {
			return false
		}
	}
	return true
}

// walker lists a bucket, in parallel over prefixes.
type walker struct {
	s      *Source
	ctx    context.Context
	bucket string
	sem    chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	objs   []*Object
	err    error
}

func (w *walker) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *walker) failed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err != nil
}

// list pages through one listing, calling fn with each page.
func (w *walker) list(prefix, delim string, fn func(*awss3.ListObjectsV2Output)) {
	in := &awss3.ListObjectsV2Input{Bucket: &w.bucket, Prefix: aws.String(prefix)}
	if delim != "" {
		in.Delimiter = aws.String(delim)
	}
	pg := awss3.NewListObjectsV2Paginator(w.s.client, in)
	for pg.HasMorePages() && !w.failed() {
		w.sem <- struct{}{}
		out, err := pg.NextPage(w.ctx)
		<-w.sem
		w.s.mu.Lock()
		w.s.listed++
		w.s.mu.Unlock()
		if err != nil {
			w.fail(fmt.Errorf("s3://%s/%s: list: %w", w.bucket, prefix, err))
			return
		}
		fn(out)
	}
}

func (w *walker) add(out *awss3.ListObjectsV2Output) {
	var keep []*Object
	for _, o := range out.Contents {
		key, size := aws.ToString(o.Key), aws.ToInt64(o.Size)
		if !w.s.keepKey(key, size) {
			continue
		}
		keep = append(keep, &Object{client: w.s.client, Bucket: w.bucket, Key: key,
			ETag: strings.Trim(aws.ToString(o.ETag), `"`), size: size})
	}
	w.mu.Lock()
	w.objs = append(w.objs, keep...)
	w.mu.Unlock()
}

// flat lists everything under prefix.
func (w *walker) flat(prefix string) { w.list(prefix, "", w.add) }

// walk lists one level of prefix with a delimiter and descends into the
// common prefixes that can hold wanted objects.
func (w *walker) walk(prefix string, p pos) {
	dir := prefix[:strings.LastIndexByte(prefix, '/')+1]
	w.list(prefix, "/", func(out *awss3.ListObjectsV2Output) {
		w.add(out)
		for _, cp := range out.CommonPrefixes {
			sub := aws.ToString(cp.Prefix)
			seg := strings.TrimSuffix(strings.TrimPrefix(sub, dir), "/")
			np, kind, val := p.step(seg)
			if !w.s.keepPrefix(np, kind, val) {
				continue
			}
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				if w.flatBelow(np) {
					w.flat(sub)
				} else {
					w.walk(sub, np)
				}
			}()
		}
	})
}

// flatBelow reports whether nothing below p can be pruned by prefix, so
// one flat listing is cheaper than walking.
func (w *walker) flatBelow(p pos) bool {
	switch p.lvl {
	case levelHour, levelOther:
		return true
	case levelDay:
		// A whole day inside the range: its hours all pass.
		from, to, _ := p.span()
		c := w.s.cfg
		return (c.Since.IsZero() || !from.Before(c.Since)) && (c.Until.IsZero() || !to.After(c.Until))
	case levelRegion, levelYear, levelMonth:
		return w.s.cfg.Since.IsZero() && w.s.cfg.Until.IsZero()
	}
	return false
}

// Object is one S3 object as a pipeline input. It implements
// source.ReaderAtInput (ranged GETs) and carries its ledger identity.
type Object struct {
	client *awss3.Client
	// Bucket and Key locate the object.
	Bucket, Key string
	// ETag is the entity tag (without quotes) of the version listed; reads
	// ask for that version and fail if the object changed since.
	ETag string
	size int64
}

var _ source.ReaderAtInput = (*Object)(nil)

// NewObject returns the input for a known object version.
func NewObject(client *awss3.Client, bucket, key, etag string, size int64) *Object {
	return &Object{client: client, Bucket: bucket, Key: key, ETag: strings.Trim(etag, `"`), size: size}
}

// Name is the object's s3:// URL.
func (o *Object) Name() string { return "s3://" + o.Bucket + "/" + o.Key }

// Size is the object's size in bytes.
func (o *Object) Size() int64 { return o.size }

// StoreObject is the object's identity in the ingest ledger.
func (o *Object) StoreObject() store.Object {
	return store.Object{ID: o.Name(), Size: o.size, ETag: o.ETag}
}

func (o *Object) get(ctx context.Context, rng string) (io.ReadCloser, error) {
	in := &awss3.GetObjectInput{Bucket: &o.Bucket, Key: &o.Key}
	if o.ETag != "" {
		in.IfMatch = aws.String(`"` + o.ETag + `"`)
	}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	out, err := o.client.GetObject(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	return out.Body, nil
}

// Open streams the object. A connection that breaks mid-object is resumed
// with a ranged GET of the same version, a few times.
func (o *Object) Open(ctx context.Context) (io.ReadCloser, error) {
	body, err := o.get(ctx, "")
	if err != nil {
		return nil, err
	}
	return &resumer{o: o, ctx: ctx, body: body, tries: 3}, nil
}

// resumer reads a GetObject body, reopening it at the offset reached when
// the stream fails before the object's end.
type resumer struct {
	o     *Object
	ctx   context.Context
	body  io.ReadCloser
	off   int64
	tries int
}

func (r *resumer) Read(p []byte) (int, error) {
	for {
		n, err := r.body.Read(p)
		r.off += int64(n)
		if err == io.EOF && r.o.size > 0 && r.off < r.o.size {
			err = io.ErrUnexpectedEOF
		}
		if err == nil || err == io.EOF {
			return n, err
		}
		if n > 0 {
			// Hand over what arrived; the broken body fails again next call.
			return n, nil
		}
		if r.tries == 0 || r.ctx.Err() != nil || r.o.size <= 0 {
			return 0, err
		}
		r.tries--
		r.body.Close()
		body, gerr := r.o.get(r.ctx, fmt.Sprintf("bytes=%d-", r.off))
		if gerr != nil {
			r.body = io.NopCloser(strings.NewReader(""))
			r.tries = 0
			return 0, fmt.Errorf("%w (resuming at byte %d: %w)", err, r.off, gerr)
		}
		r.body = body
	}
}

func (r *resumer) Close() error { return r.body.Close() }

// OpenReaderAt gives random access with ranged GETs (Parquet footers and
// column chunks).
func (o *Object) OpenReaderAt(ctx context.Context) (source.ReaderAtCloser, error) {
	return &rangeReader{o: o, ctx: ctx}, nil
}

type rangeReader struct {
	o   *Object
	ctx context.Context
}

func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.o.size {
		return 0, io.EOF
	}
	want := slices.Min([]int64{int64(len(p)), r.o.size - off})
	if want == 0 {
		return 0, nil
	}
	body, err := r.o.get(r.ctx, fmt.Sprintf("bytes=%d-%d", off, off+want-1))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", r.o.Name(), err)
	}
	defer body.Close()
	n, err := io.ReadFull(body, p[:want])
	if err != nil {
		return n, fmt.Errorf("%s: ranged read at %d: %w", r.o.Name(), off, err)
	}
	if int64(n) < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

func (r *rangeReader) Close() error { return nil }
