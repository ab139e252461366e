// Package redact leaves out of URLs what may be a secret, before they go
// into errors, logs, output or a store.
//
// Two policies exist because the URLs differ in where their secret is:
//
//   - URL keeps the path: a feed or document URL (an IOC list, AWS's
//     ip-ranges.json) names the resource in its path, and its credentials
//     are in the user information or the query (an API key, a presigned
//     signature).
//   - Origin keeps only the scheme and host: the path of a webhook URL (a
//     Slack incoming webhook's /services/T…/B…/X…) is itself the secret.
//
// Text that does not parse as a URL with a host is replaced as a whole by
// "(URL redacted)": the parser's message or a fragment of it may hold the
// secret.
package redact

import (
	"errors"
	"net/url"
)

// Unparsed replaces text that does not parse as a URL with a host.
const Unparsed = "(URL redacted)"

// URL returns raw without its user information and query, which become
// "…@" and "?…" (the fragment is dropped). The scheme, host and path stay,
// so a message still says which resource it was.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Unparsed
	}
	out := u.Scheme + "://"
	if u.User != nil {
		out += "…@"
	}
	out += u.Host + u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery {
		out += "?…"
	}
	return out
}

// Origin returns only raw's scheme and host (user information, path, query
// and fragment left out); "/…" marks that a path, query or fragment was
// there.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Unparsed
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		out += "/…"
	}
	return out
}

// Error replaces the full URL that net/http puts in its errors (a
// *url.Error in err's chain) with redacted, and returns err. Call it
// before wrapping err: fmt.Errorf renders the message when it wraps.
func Error(err error, redacted string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redacted
	}
	return err
}
