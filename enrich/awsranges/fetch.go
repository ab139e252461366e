package awsranges

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/flowlens/flowlens/internal/redact"
)

// maxDocument bounds a downloaded document (the real one is about 2 MB).
const maxDocument = 64 << 20

// Fetch downloads ip-ranges.json from url, checks that it parses, and
// replaces the file at path atomically. It returns the parsed ranges.
// Errors name the URL without its user information and query
// (redact.URL), which may hold credentials.
func Fetch(ctx context.Context, client *http.Client, url, path string) (*Ranges, error) {
	if client == nil {
		client = http.DefaultClient
	}
	shown := redact.URL(url)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		// The parser's message may quote part of the URL.
		return nil, fmt.Errorf("ip-ranges %s: not a valid URL", shown)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ip-ranges %s: %w", shown, redact.Error(err, shown))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ip-ranges %s: HTTP %s", shown, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("ip-ranges %s: %w", shown, redact.Error(err, shown))
	}
	if len(data) > maxDocument {
		return nil, fmt.Errorf("ip-ranges %s: larger than %d bytes", shown, maxDocument)
	}
	r, err := Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shown, err)
	}
	if err := writeAtomic(path, data); err != nil {
		return nil, err
	}
	return r, nil
}

func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ip-ranges: %w", err)
	}
	f, err := os.CreateTemp(dir, ".ip-ranges-*")
	if err != nil {
		return fmt.Errorf("ip-ranges: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("ip-ranges %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("ip-ranges %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("ip-ranges %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("ip-ranges %s: %w", path, err)
	}
	return nil
}

// DefaultPath is where 'flowlens ranges update' keeps the file:
// $XDG_CACHE_HOME/flowlens/ip-ranges.json (~/.cache/flowlens/...).
func DefaultPath() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("ip-ranges: no cache directory: %w", err)
	}
	return filepath.Join(d, "flowlens", "ip-ranges.json"), nil
}
