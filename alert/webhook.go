package alert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flowlens/internal/redact"
)

// HTTPConfig configures the delivery of an HTTP sink.
type HTTPConfig struct {
	// URL receives the POSTs.
	URL string
	// Timeout bounds each attempt. Zero means 10 s.
	Timeout time.Duration
	// Attempts is the number of tries per alert (1 = no retry). Zero means 4.
	Attempts int
	// Backoff is the wait before the second try; it doubles before each
	// further one (a 429 or 503 with Retry-After waits what it says, up to
	// MaxBackoff). Zero means 500 ms.
	Backoff time.Duration
	// MaxBackoff caps a wait. Zero means 30 s.
	MaxBackoff time.Duration
	// Client sends the requests; nil means a client without its own
	// timeout (Timeout applies per attempt).
	Client *http.Client
	// Header holds extra request headers (e.g. Authorization).
	Header http.Header

	// what names the URL in messages: "webhook URL" or "Slack URL".
	what string
}

// DefaultHTTPConfig returns the defaults for url.
func DefaultHTTPConfig(url string) HTTPConfig {
	return HTTPConfig{URL: url, Timeout: 10 * time.Second, Attempts: 4, Backoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second}
}

func (c HTTPConfig) withDefaults() HTTPConfig {
	d := DefaultHTTPConfig(c.URL)
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.Attempts <= 0 {
		c.Attempts = d.Attempts
	}
	if c.Backoff <= 0 {
		c.Backoff = d.Backoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = d.MaxBackoff
	}
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	return c
}

// Validate checks the URL: http or https, with a host. The error shows the
// URL redacted (RedactURL), and not the parser's message, which may quote
// part of it. It calls the URL a "webhook URL"; NewSlack's check calls it
// a "Slack URL".
func (c HTTPConfig) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil:
		return fmt.Errorf("%s %s: does not parse as a URL", c.urlName(), RedactURL(c.URL))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%s %s: want http:// or https://", c.urlName(), RedactURL(c.URL))
	case u.Host == "":
		return fmt.Errorf("%s %s: no host", c.urlName(), RedactURL(c.URL))
	}
	return nil
}

// urlName is how messages name the URL.
func (c HTTPConfig) urlName() string {
	if c.what == "" {
		return "webhook URL"
	}
	return c.what
}

// RedactURL returns raw with what may be a secret left out: user
// information, the path and the query (a Slack incoming webhook's path is
// its token; many webhooks carry one in the query). The scheme and host
// stay, so a message still says where delivery went; "/…" marks what was
// left out. Text that does not parse as a URL is replaced as a whole. It
// is redact.Origin.
func RedactURL(raw string) string { return redact.Origin(raw) }

// redactErr replaces the full URL that net/http puts in its errors
// (*url.Error) with the redacted one.
func redactErr(err error, raw string) error { return redact.Error(err, RedactURL(raw)) }

// httpStatusError is a non-2xx answer.
type httpStatusError struct {
	code       int
	body       string
	retryAfter time.Duration
}

func (e *httpStatusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("HTTP %d", e.code)
	}
	return fmt.Sprintf("HTTP %d: %s", e.code, e.body)
}

// retryable says whether a failure may succeed on another try: network
// errors, timeouts, 408, 429 and 5xx.
func retryable(err error) bool {
	se, ok := err.(*httpStatusError)
	if !ok {
		return true
	}
	return se.code == http.StatusRequestTimeout || se.code == http.StatusTooManyRequests || se.code >= 500
}

// post sends one JSON body with retries. It returns the number of
// attempts made and the last error.
func (c *HTTPConfig) post(ctx context.Context, body []byte, idempotencyKey string) (int, error) {
	wait := c.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		err = c.once(ctx, body, idempotencyKey)
		if err == nil {
			return attempt, nil
		}
		if attempt >= c.Attempts || !retryable(err) || ctx.Err() != nil {
			return attempt, err
		}
		d := wait
		if se, ok := err.(*httpStatusError); ok && se.retryAfter > 0 {
			d = se.retryAfter
		}
		if serr := sleep(ctx, min(d, c.MaxBackoff)); serr != nil {
			return attempt, fmt.Errorf("%w (then %v)", err, serr)
		}
		wait *= 2
	}
}

func (c *HTTPConfig) once(ctx context.Context, body []byte, idempotencyKey string) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: does not parse as a URL", c.urlName(), RedactURL(c.URL))
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "flowlens")
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return redactErr(err, c.URL)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	se := &httpStatusError{code: resp.StatusCode, body: strings.TrimSpace(string(msg))}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			se.retryAfter = time.Duration(s) * time.Second
		}
	}
	return se
}

// sendEach posts one body per alert and reports the alerts that failed.
func sendEach(ctx context.Context, name string, c *HTTPConfig, alerts []Alert, body func(*Alert) ([]byte, error)) error {
	var de *DeliveryError
	for i := range alerts {
		a := &alerts[i]
		b, err := body(a)
		var attempts int
		if err == nil {
			attempts, err = c.post(ctx, b, a.ID)
		}
		if err != nil {
			if de == nil {
				de = &DeliveryError{Sink: name}
			}
			de.Failed = append(de.Failed, a.ID)
			de.Err = fmt.Errorf("alert %s: %w", a.ID, err)
			de.Attempts = attempts
			if de.Reasons == nil {
				de.Reasons = map[string]error{}
			}
			de.Reasons[a.ID] = fmt.Errorf("not delivered after %d attempt(s): %w", attempts, err)
		}
	}
	if de != nil {
		return de
	}
	return nil
}

// Webhook POSTs each alert as a JSON object (the Alert fields) to a URL,
// with an Idempotency-Key header holding the alert ID. Failed attempts are
// retried with exponential backoff; after the last one Send returns a
// *DeliveryError naming the alerts not delivered.
type Webhook struct {
	cfg HTTPConfig
}

var _ Sink = (*Webhook)(nil)

// NewWebhook returns a webhook sink.
func NewWebhook(cfg HTTPConfig) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Webhook{cfg: cfg.withDefaults()}, nil
}

// Name returns "webhook URL", the URL redacted (RedactURL): names go
// into errors, logs and the alert store.
func (w *Webhook) Name() string { return "webhook " + RedactURL(w.cfg.URL) }

// ID returns Name and a fingerprint of the whole URL (fingerprint), which
// tells apart webhooks whose redacted URLs are equal.
func (w *Webhook) ID() string { return w.Name() + " " + fingerprint(w.cfg.URL) }

// fingerprint returns "#" and the first 4 bytes of the URL's SHA-256 in
// hex: enough to tell a few URLs apart. It does not show the URL; like any
// hash, it would let whoever reads the alert store check guesses of a weak
// secret in it (a short password), not of a random token such as Slack's.
func fingerprint(url string) string {
	h := sha256.Sum256([]byte(url))
	return "#" + hex.EncodeToString(h[:4])
}

// Send posts every alert.
func (w *Webhook) Send(ctx context.Context, alerts []Alert) error {
	return sendEach(ctx, w.Name(), &w.cfg, alerts, func(a *Alert) ([]byte, error) { return json.Marshal(a) })
}

// Slack POSTs each alert to a Slack incoming webhook: a text fallback and
// Block Kit blocks (header, summary fields, sample flows, follow-up
// command). Retries as Webhook.
type Slack struct {
	cfg HTTPConfig
}

var _ Sink = (*Slack)(nil)

// NewSlack returns a Slack sink. Its errors call the URL a "Slack URL".
func NewSlack(cfg HTTPConfig) (*Slack, error) {
	cfg.what = "Slack URL"
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Slack{cfg: cfg.withDefaults()}, nil
}

// Name returns "slack URL", the URL redacted (RedactURL): the path of a
// Slack incoming webhook is its secret.
func (s *Slack) Name() string { return "slack " + RedactURL(s.cfg.URL) }

// ID returns Name and a fingerprint of the whole URL: two Slack incoming
// webhooks share a redacted name.
func (s *Slack) ID() string { return s.Name() + " " + fingerprint(s.cfg.URL) }

// Send posts every alert.
func (s *Slack) Send(ctx context.Context, alerts []Alert) error {
	return sendEach(ctx, s.Name(), &s.cfg, alerts, func(a *Alert) ([]byte, error) { return json.Marshal(SlackMessage(a)) })
}

// SlackMessage is the incoming-webhook payload for a.
func SlackMessage(a *Alert) map[string]any {
	text := func(s string) map[string]any { return map[string]any{"type": "mrkdwn", "text": s} }
	field := func(name, v string) map[string]any { return text("*" + name + "*\n" + v) }
	const tf = "2006-01-02 15:04:05Z"
	blocks := []any{
		map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": truncate(fmt.Sprintf("%s %s", severityMark(a.Severity), a.Title), 150)}},
		map[string]any{"type": "section", "text": text(truncate(fmt.Sprintf("*%s* `%s`: %s", strings.ToUpper(a.Severity), a.Rule, slackEscape(a.Key.String())), 3000))},
		map[string]any{"type": "section", "fields": []any{
			field("Measure", fmt.Sprintf("%s = %d (threshold %d)", a.Measure, a.Value, a.Threshold)),
			field("Window", a.WindowStart.UTC().Format(tf)+" – "+a.WindowEnd.UTC().Format(tf)),
			field("First / last seen", a.FirstSeen.UTC().Format(tf)+" / "+a.LastSeen.UTC().Format(tf)),
			field("Flows", strconv.FormatInt(a.Flows, 10)),
		}},
	}
	if len(a.Samples) > 0 {
		var sb strings.Builder
		sb.WriteString("```")
		for _, s := range a.Samples {
			sb.WriteString(s.String())
			sb.WriteByte('\n')
		}
		sb.WriteString("```")
		blocks = append(blocks, map[string]any{"type": "section", "text": text(truncate(slackEscape(sb.String()), 3000))})
	}
	if a.FollowUp != "" {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{text(truncate("Follow up: `"+slackEscape(a.FollowUp)+"`", 3000))}})
	}
	return map[string]any{"text": slackEscape(a.Summary()), "blocks": blocks}
}

func severityMark(s string) string {
	switch s {
	case SeverityCritical, SeverityHigh:
		return "🔴"
	case SeverityMedium:
		return "🟠"
	}
	return "🔵"
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
