package intel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/flowlens/flowlens/internal/redact"
)

// Feed is a downloadable indicator list.
type Feed struct {
	// Name is the list name and the cache file's base name.
	Name string
	// URL is where the list is fetched from.
	URL string
	// Format is the list's format (FormatAuto detects it).
	Format Format
}

// DefaultFeeds returns the public feeds 'flowlens intel update' fetches
// unless told otherwise.
func DefaultFeeds() []Feed {
	return []Feed{
		{Name: "spamhaus-drop", URL: "https://www.spamhaus.org/drop/drop.txt", Format: FormatSpamhaus},
		{Name: "spamhaus-edrop", URL: "https://www.spamhaus.org/drop/edrop.txt", Format: FormatSpamhaus},
		{Name: "spamhaus-dropv6", URL: "https://www.spamhaus.org/drop/dropv6.txt", Format: FormatSpamhaus},
		{Name: "firehol-level1", URL: "https://raw.githubusercontent.com/firehol/blocklist-ipsets/master/firehol_level1.netset", Format: FormatFireHOL},
		{Name: "feodo", URL: "https://feodotracker.abuse.ch/downloads/ipblocklist.csv", Format: FormatFeodo},
		{Name: "sslbl", URL: "https://sslbl.abuse.ch/blacklist/sslipblacklist.csv", Format: FormatSSLBL},
		{Name: "tor-exit", URL: "https://check.torproject.org/exit-addresses", Format: FormatTor},
	}
}

// DefaultDir returns the cache directory of fetched lists:
// $XDG_CACHE_HOME/flowlens/intel, or ~/.cache/flowlens/intel.
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("intel cache directory: %w", err)
	}
	return filepath.Join(d, "flowlens", "intel"), nil
}

// Meta is what the cache keeps about a fetched list, next to it in
// "<name>.meta.json".
type Meta struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Format string `json:"format"`
	// ETag and LastModified are the validators of the stored copy, sent
	// back on the next fetch.
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// FetchedAt is when the stored copy was downloaded; CheckedAt when the
	// server was last asked.
	FetchedAt time.Time `json:"fetched_at"`
	CheckedAt time.Time `json:"checked_at"`
	// Bytes, Indicators and Rejected describe the stored copy.
	Bytes      int64 `json:"bytes"`
	Indicators int   `json:"indicators"`
	Rejected   int   `json:"rejected"`
}

const metaSuffix = ".meta.json"

// DataPath returns the cache file of a list.
func DataPath(dir, name string) string { return filepath.Join(dir, name+".txt") }

func metaPath(dir, name string) string { return filepath.Join(dir, name+metaSuffix) }

// ReadMeta reads the metadata of a cached list.
func ReadMeta(dir, name string) (Meta, error) {
	var m Meta
	b, err := os.ReadFile(metaPath(dir, name))
	if err != nil {
		return m, fmt.Errorf("intel cache: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("intel cache %s: %w", metaPath(dir, name), err)
	}
	return m, nil
}

// Fetcher downloads feeds into a cache directory.
type Fetcher struct {
	// Dir is the cache directory (created when missing).
	Dir string
	// Client makes the requests; its Timeout bounds each fetch.
	Client *http.Client
	// MaxBytes bounds a download (0: 512 MiB).
	MaxBytes int64
	// UserAgent is sent with every request.
	UserAgent string
}

// Status says what a fetch did.
type Status string

// Fetch outcomes.
const (
	// Updated: a new copy was stored.
	Updated Status = "updated"
	// NotModified: the server said the stored copy is current (304).
	NotModified Status = "not modified"
)

// Fetch downloads feed unless the server says the cached copy is current
// (conditional GET with the stored ETag and Last-Modified). A new copy
// replaces the old atomically, and only when it parses as an indicator
// list; on any error the old copy stays.
func (f *Fetcher) Fetch(ctx context.Context, feed Feed) (Meta, Status, error) {
	fail := func(err error) (Meta, Status, error) {
		err = redact.Error(err, RedactURL(feed.URL))
		return Meta{}, "", fmt.Errorf("intel update %s (%s): %w", feed.Name, RedactURL(feed.URL), err)
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return fail(err)
	}
	old, oldErr := ReadMeta(f.Dir, feed.Name)
	_, dataErr := os.Stat(DataPath(f.Dir, feed.Name))
	haveOld := oldErr == nil && dataErr == nil && old.URL == feed.URL
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, feed.URL, nil)
	if err != nil {
		// The parser's message may quote part of the URL.
		return fail(errors.New("not a valid URL"))
	}
	if f.UserAgent != "" {
		req.Header.Set("User-Agent", f.UserAgent)
	}
	if haveOld {
		if old.ETag != "" {
			req.Header.Set("If-None-Match", old.ETag)
		}
		if old.LastModified != "" {
			req.Header.Set("If-Modified-Since", old.LastModified)
		}
	}
	client := f.Client
	if client == nil {
		client = &http.Client{Timeout: time.Minute}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	now := time.Now().UTC()
	switch {
	case resp.StatusCode == http.StatusNotModified && haveOld:
		old.CheckedAt = now
		if err := writeAtomic(metaPath(f.Dir, feed.Name), mustJSON(old)); err != nil {
			return fail(err)
		}
		return old, NotModified, nil
	case resp.StatusCode != http.StatusOK:
		return fail(fmt.Errorf("HTTP %s", resp.Status))
	}
	limit := f.MaxBytes
	if limit <= 0 {
		limit = 512 << 20
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fail(err)
	}
	if int64(len(data)) > limit {
		return fail(fmt.Errorf("larger than %d bytes", limit))
	}
	res := Parse(data, feed.Format, feed.Name)
	if res.Accepted == 0 && res.Rejected > 0 {
		return fail(fmt.Errorf("not an indicator list (%s): %d bad lines, first: %v", res.Format, res.Rejected, &res.Errors[0]))
	}
	m := Meta{Name: feed.Name, URL: feed.URL, Format: res.Format.String(), ETag: resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"), FetchedAt: now, CheckedAt: now,
		Bytes: int64(len(data)), Indicators: res.Accepted, Rejected: res.Rejected}
	if err := writeAtomic(DataPath(f.Dir, feed.Name), data); err != nil {
		return fail(err)
	}
	if err := writeAtomic(metaPath(f.Dir, feed.Name), mustJSON(m)); err != nil {
		return fail(err)
	}
	return m, Updated, nil
}

// RedactURL returns raw without what commonly holds a feed's credentials:
// the user information and the query (an API key), which become "…". The
// scheme, host and path stay, so messages still say which feed it is. Text
// that does not parse as a URL is replaced as a whole. It is redact.URL.
func RedactURL(raw string) string { return redact.URL(raw) }

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // Meta always marshals
	}
	return append(b, '\n')
}

// writeAtomic replaces path with data: a synced temporary file in the same
// directory renamed over it.
func writeAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ErrNoCache is returned by Cached when the directory does not exist.
var ErrNoCache = errors.New("no intel cache")

// Cached lists the metadata of every fetched list in dir, by name.
func Cached(dir string) ([]Meta, error) {
	ms, err := filepath.Glob(filepath.Join(dir, "*"+metaSuffix))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%w at %s", ErrNoCache, dir)
	}
	var out []Meta
	for _, p := range ms {
		name := filepath.Base(p)
		name = name[:len(name)-len(metaSuffix)]
		m, err := ReadMeta(dir, name)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
