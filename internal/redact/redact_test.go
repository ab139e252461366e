package redact

import (
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		name, in, url, origin string
	}{
		{"plain", "https://example.com/drop.txt", "https://example.com/drop.txt", "https://example.com/…"},
		{"bare host", "https://example.com", "https://example.com", "https://example.com"},
		{"root path", "https://example.com/", "https://example.com/", "https://example.com"},
		{"query key", "https://example.com/feed.csv?key=SECRET", "https://example.com/feed.csv?…", "https://example.com/…"},
		{"empty query", "https://example.com/feed.csv?", "https://example.com/feed.csv?…", "https://example.com/…"},
		{"user info and port", "http://user:SECRET@127.0.0.1:8080/x", "http://…@127.0.0.1:8080/x", "http://127.0.0.1:8080/…"},
		{"slack", "https://hooks.slack.com/services/T0/B0/SECRET", "https://hooks.slack.com/services/T0/B0/SECRET", "https://hooks.slack.com/…"},
		{"fragment", "https://example.com/#SECRET", "https://example.com/", "https://example.com/…"},
		{"no scheme", "hooks.slack.com/services/T/B/SECRET", Unparsed, Unparsed},
		{"no host", "https:///SECRET", Unparsed, Unparsed},
		{"unparseable", "http://[::1/SECRET", Unparsed, Unparsed},
		{"bad port", "http://user:pw@host:SECRET/x", Unparsed, Unparsed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.url, URL(tc.in)); d != "" {
				t.Errorf("URL(%q) (-want +got):\n%s", tc.in, d)
			}
			if d := cmp.Diff(tc.origin, Origin(tc.in)); d != "" {
				t.Errorf("Origin(%q) (-want +got):\n%s", tc.in, d)
			}
		})
	}
}

func TestError(t *testing.T) {
	inner := &url.Error{Op: "Get", URL: "https://u:SECRET@example.com/x?k=SECRET", Err: errors.New("connection refused")}
	err := fmt.Errorf("fetch: %w", Error(inner, "https://…@example.com/x?…"))
	if d := cmp.Diff(`fetch: Get "https://…@example.com/x?…": connection refused`, err.Error()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	plain := errors.New("no URL here")
	if got := Error(plain, "x"); got != plain {
		t.Errorf("an error without a *url.Error changed: %v", got)
	}
}
