// Package resolve names internet addresses for the audits: reverse DNS
// (PTR records, asked of a configurable DNS server) and the DNS names on
// the certificate a host presents on its TLS port to a handshake without
// SNI. Lookups run concurrently with per-query timeouts and a global rate
// limit, and answers are kept in a JSON cache file so repeated audits do
// not ask again.
package resolve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Config configures a Resolver.
type Config struct {
	// DNSServer is the host:port PTR queries go to; empty: the first
	// nameserver of /etc/resolv.conf.
	DNSServer string
	// PTR and TLS select the lookups.
	PTR, TLS bool
	// TLSPort is the port of the TLS handshake (443).
	TLSPort int
	// TLSAddr, when set, is dialled for every handshake instead of the
	// address being named (tests, or a forwarding proxy).
	TLSAddr string
	// Timeout bounds each query and each handshake.
	Timeout time.Duration
	// Concurrency is how many lookups run at once.
	Concurrency int
	// Rate limits new queries per second (PTR and TLS together); 0: none.
	Rate float64
	// CachePath is the JSON cache file; empty: no cache.
	CachePath string
	// MaxAge is how long a cached answer is used.
	MaxAge time.Duration
}

// DefaultConfig returns PTR and TLS lookups with a 3 s timeout, 16 at a
// time, 50 queries per second, answers kept for 7 days.
func DefaultConfig() Config {
	return Config{PTR: true, TLS: true, TLSPort: 443, Timeout: 3 * time.Second, Concurrency: 16, Rate: 50, MaxAge: 7 * 24 * time.Hour}
}

// Validate checks the configuration and fills in the DNS server.
func (c *Config) Validate() error {
	if c.Timeout <= 0 || c.Concurrency <= 0 || c.Rate < 0 || c.TLSPort <= 0 || c.TLSPort > 65535 {
		return fmt.Errorf("resolve: timeout, concurrency and TLS port must be positive, rate not negative")
	}
	if c.PTR && c.DNSServer == "" {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(cc.Servers) == 0 {
			return fmt.Errorf("resolve: no DNS server configured and none in /etc/resolv.conf: give one")
		}
		c.DNSServer = net.JoinHostPort(cc.Servers[0], cc.Port)
	}
	if c.PTR {
		if _, _, err := net.SplitHostPort(c.DNSServer); err != nil {
			c.DNSServer = net.JoinHostPort(c.DNSServer, "53")
		}
	}
	return nil
}

// Names are what the lookups found for one address.
type Names struct {
	// PTR are the reverse DNS names, without the final dot.
	PTR []string `json:"ptr,omitempty"`
	// PTRStatus is "ok", "nxdomain", "none" (no PTR record), or an error
	// class ("timeout", "error", or the server's error code: "servfail",
	// "refused"...), which is asked again on the next run.
	PTRStatus string `json:"ptr_status,omitempty"`
	// TLS are the DNS names of the certificate the host presented (its
	// subject alternative names, else its common name). Without SNI a
	// host may present a default certificate that names another site.
	TLS []string `json:"tls,omitempty"`
	// TLSStatus is "ok", "refused", "no-tls" (the handshake failed) or
	// "timeout".
	TLSStatus string `json:"tls_status,omitempty"`
	// Checked is when the lookups ran.
	Checked time.Time `json:"checked"`
}

// ptrTransient reports whether a PTR status should be asked again next
// time: anything but an answer about the address (ok, nxdomain, none). A
// timeout, a network error and a server error (SERVFAIL, REFUSED...) say
// nothing about the address, and caching them would keep names hidden
// after the server is fixed or changed.
func ptrTransient(status string) bool {
	return status != "ok" && status != "nxdomain" && status != "none"
}

// tlsTransient reports whether a TLS status should be asked again next
// time: a timeout or a failed connection (a refused connection and a
// service that is not TLS are answers about the host).
func tlsTransient(status string) bool { return status == "timeout" || status == "error" }

// Stats counts what a Resolver did.
type Stats struct {
	CacheHits  int64 // lookups answered from the cache
	PTRQueries int64 // PTR queries sent
	TLSDials   int64 // handshakes attempted
	Timeouts   int64 // queries or handshakes that timed out
	// Errors counts the lookups that failed other than by timing out: PTR
	// queries the server answered with an error code (SERVFAIL, REFUSED,
	// NOTIMP...) or that failed on the network, and handshakes whose
	// connection failed (a refused connection or a service that is not TLS
	// is an answer about the host, not an error). An NXDOMAIN answer is
	// not an error either.
	Errors int64
	// ErrorKinds counts Errors by lookup and status ("ptr refused",
	// "ptr servfail", "ptr error", "tls error").
	ErrorKinds map[string]int64
}

// ErrorSummary renders ErrorKinds as "ptr refused 3, tls error 1", in
// name order ("" when there were no errors).
func (s Stats) ErrorSummary() string {
	kinds := make([]string, 0, len(s.ErrorKinds))
	for k := range s.ErrorKinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = k + " " + strconv.FormatInt(s.ErrorKinds[k], 10)
	}
	return strings.Join(parts, ", ")
}

// Resolver names addresses. It is safe for concurrent use.
type Resolver struct {
	cfg   Config
	mu    sync.Mutex
	cache map[netip.Addr]Names
	dirty bool
	stats struct{ hits, ptr, tls, timeouts atomic.Int64 }
	// errMu guards errKinds, the failed lookups by kind.
	errMu    sync.Mutex
	errKinds map[string]int64
	tick     *time.Ticker
}

// failed counts a lookup that failed with status (Stats.Errors) and
// returns status.
func (r *Resolver) failed(lookup, status string) string {
	r.errMu.Lock()
	if r.errKinds == nil {
		r.errKinds = map[string]int64{}
	}
	r.errKinds[lookup+" "+status]++
	r.errMu.Unlock()
	return status
}

// New builds a Resolver and reads its cache file (a missing file is an
// empty cache).
func New(cfg Config) (*Resolver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Resolver{cfg: cfg, cache: map[netip.Addr]Names{}}
	if cfg.CachePath != "" {
		if err := r.load(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Stats returns the counters so far.
func (r *Resolver) Stats() Stats {
	st := Stats{CacheHits: r.stats.hits.Load(), PTRQueries: r.stats.ptr.Load(), TLSDials: r.stats.tls.Load(), Timeouts: r.stats.timeouts.Load()}
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if len(r.errKinds) > 0 {
		st.ErrorKinds = make(map[string]int64, len(r.errKinds))
		for k, n := range r.errKinds {
			st.ErrorKinds[k] = n
			st.Errors += n
		}
	}
	return st
}

// Resolve names every address, from the cache when it has a fresh answer
// for the lookups configured, and returns the names by address. It
// returns ctx's error when cancelled (with what it found so far).
func (r *Resolver) Resolve(ctx context.Context, addrs []netip.Addr) (map[netip.Addr]Names, error) {
	out := make(map[netip.Addr]Names, len(addrs))
	var todo []netip.Addr
	now := time.Now()
	r.mu.Lock()
	for _, a := range addrs {
		if _, seen := out[a]; seen {
			continue
		}
		n, ok := r.cache[a]
		if ok && r.fresh(n, now) {
			out[a] = n
			r.stats.hits.Add(1)
			continue
		}
		out[a] = n
		todo = append(todo, a)
	}
	r.mu.Unlock()
	if len(todo) == 0 {
		return out, nil
	}
	var limit <-chan time.Time
	if r.cfg.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.Rate))
		defer t.Stop()
		limit = t.C
	}
	wait := func() bool {
		if limit == nil {
			return ctx.Err() == nil
		}
		select {
		case <-limit:
			return true
		case <-ctx.Done():
			return false
		}
	}
	work := make(chan netip.Addr)
	var wg sync.WaitGroup
	var omu sync.Mutex
	for range min(r.cfg.Concurrency, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range work {
				omu.Lock()
				n := out[a]
				omu.Unlock()
				if r.cfg.PTR && (n.PTRStatus == "" || ptrTransient(n.PTRStatus)) && wait() {
					n.PTR, n.PTRStatus = r.ptr(ctx, a)
				}
				if r.cfg.TLS && (n.TLSStatus == "" || tlsTransient(n.TLSStatus)) && wait() {
					n.TLS, n.TLSStatus = r.tlsNames(ctx, a)
				}
				n.Checked = time.Now().UTC().Truncate(time.Second)
				omu.Lock()
				out[a] = n
				omu.Unlock()
				r.mu.Lock()
				r.cache[a] = n
				r.dirty = true
				r.mu.Unlock()
			}
		}()
	}
feed:
	for _, a := range todo {
		select {
		case work <- a:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return out, ctx.Err()
}

// fresh reports whether a cached answer covers the configured lookups.
func (r *Resolver) fresh(n Names, now time.Time) bool {
	if r.cfg.MaxAge > 0 && now.Sub(n.Checked) > r.cfg.MaxAge {
		return false
	}
	if r.cfg.PTR && (n.PTRStatus == "" || ptrTransient(n.PTRStatus)) {
		return false
	}
	if r.cfg.TLS && (n.TLSStatus == "" || tlsTransient(n.TLSStatus)) {
		return false
	}
	return true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// ptr asks the DNS server for the PTR records of a (over TCP when the
// UDP answer is truncated).
func (r *Resolver) ptr(ctx context.Context, a netip.Addr) ([]string, string) {
	name, err := dns.ReverseAddr(a.Unmap().String())
	if err != nil {
		return nil, r.failed("ptr", "error")
	}
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypePTR)
	m.RecursionDesired = true
	c := &dns.Client{Timeout: r.cfg.Timeout}
	r.stats.ptr.Add(1)
	qctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	in, _, err := c.ExchangeContext(qctx, m, r.cfg.DNSServer)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(qctx, m, r.cfg.DNSServer)
	}
	if err != nil {
		if isTimeout(err) {
			r.stats.timeouts.Add(1)
			return nil, "timeout"
		}
		return nil, r.failed("ptr", "error")
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, "nxdomain"
	case dns.RcodeServerFailure:
		return nil, r.failed("ptr", "servfail")
	default:
		status := strings.ToLower(dns.RcodeToString[in.Rcode])
		if status == "" {
			status = "rcode" + strconv.Itoa(in.Rcode)
		}
		return nil, r.failed("ptr", status)
	}
	var names []string
	for _, rr := range in.Answer {
		if p, ok := rr.(*dns.PTR); ok {
			names = append(names, strings.TrimSuffix(strings.ToLower(p.Ptr), "."))
		}
	}
	if len(names) == 0 {
		return nil, "none"
	}
	slices.Sort(names)
	return slices.Compact(names), "ok"
}

// tlsNames reads the certificate a presents on the TLS port, without SNI
// and without verifying it (the names are what is wanted, not trust).
func (r *Resolver) tlsNames(ctx context.Context, a netip.Addr) ([]string, string) {
	addr := net.JoinHostPort(a.Unmap().String(), strconv.Itoa(r.cfg.TLSPort))
	if r.cfg.TLSAddr != "" {
		addr = r.cfg.TLSAddr
	}
	r.stats.tls.Add(1)
	hctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	d := &tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10}}
	conn, err := d.DialContext(hctx, "tcp", addr)
	if err != nil {
		switch {
		case isTimeout(err):
			r.stats.timeouts.Add(1)
			return nil, "timeout"
		case errors.Is(err, syscallECONNREFUSED):
			return nil, "refused"
		}
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return nil, r.failed("tls", "error")
		}
		return nil, "no-tls"
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, "no-tls"
	}
	var names []string
	for _, n := range certs[0].DNSNames {
		names = append(names, strings.ToLower(n))
	}
	if len(names) == 0 && certs[0].Subject.CommonName != "" {
		names = append(names, strings.ToLower(certs[0].Subject.CommonName))
	}
	slices.Sort(names)
	return slices.Compact(names), "ok"
}

// cacheFile is the cache's JSON form.
type cacheFile struct {
	Version int              `json:"version"`
	Entries map[string]Names `json:"entries"`
}

func (r *Resolver) load() error {
	data, err := os.ReadFile(r.cfg.CachePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("resolve cache: %w", err)
	}
	var cf cacheFile
	if err := jsonUnmarshal(data, &cf); err != nil {
		return fmt.Errorf("resolve cache %s: %w", r.cfg.CachePath, err)
	}
	for k, v := range cf.Entries {
		a, err := netip.ParseAddr(k)
		if err != nil {
			return fmt.Errorf("resolve cache %s: %w", r.cfg.CachePath, err)
		}
		r.cache[a] = v
	}
	return nil
}

// Save writes the cache file when anything changed (atomically).
func (r *Resolver) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg.CachePath == "" || !r.dirty {
		return nil
	}
	cf := cacheFile{Version: 1, Entries: make(map[string]Names, len(r.cache))}
	for a, n := range r.cache {
		cf.Entries[a.String()] = n
	}
	if err := writeJSONAtomic(r.cfg.CachePath, cf); err != nil {
		return fmt.Errorf("resolve cache: %w", err)
	}
	r.dirty = false
	return nil
}
