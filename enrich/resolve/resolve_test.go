package resolve

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/miekg/dns"

	"github.com/flowlens/flowlens/enrich/resolve/resolvetest"
)

// silent returns a UDP and a TCP address on 127.0.0.1 that accept but
// never answer.
func silent(t *testing.T) (udp, tcp string) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return pc.LocalAddr().String(), ln.Addr().String()
}

func TestResolve(t *testing.T) {
	a := netip.MustParseAddr
	// Every address is on the loopback network, so the handshakes stay on
	// this machine: 127.0.0.1 serves TLS on the port, the others refuse.
	dnsSrv := resolvetest.StartDNS(t, map[netip.Addr][]string{
		a("127.0.0.7"): {"api.partner.example", "Edge-7.Partner.Example"},
		a("127.0.0.1"): {"localhost"},
		a("::1"):       {"v6.example"},
		a("127.0.0.9"): nil,
	})
	tlsSrv := resolvetest.StartTLS(t, "www.shop.test", "shop.test")
	cfg := DefaultConfig()
	cfg.DNSServer = dnsSrv.Addr
	cfg.TLSPort = tlsSrv.Port
	cfg.Timeout = 2 * time.Second
	cfg.Rate = 0
	cfg.CachePath = filepath.Join(t.TempDir(), "cache.json")
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addrs := []netip.Addr{a("127.0.0.7"), a("127.0.0.1"), a("::1"), a("127.0.0.9"), a("127.0.0.4"), a("127.0.0.1")}
	got, err := r.Resolve(context.Background(), addrs[:4])
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Addr]Names{
		a("127.0.0.7"): {PTR: []string{"api.partner.example", "edge-7.partner.example"}, PTRStatus: "ok", TLSStatus: "refused"},
		a("127.0.0.1"): {PTR: []string{"localhost"}, PTRStatus: "ok", TLS: []string{"shop.test", "www.shop.test"}, TLSStatus: "ok"},
		a("::1"):       {PTR: []string{"v6.example"}, PTRStatus: "ok"},
		a("127.0.0.9"): {PTRStatus: "none", TLSStatus: "refused"},
	}
	// ::1 refuses, or cannot be reached when the host has no IPv6.
	if st := got[a("::1")].TLSStatus; st == "refused" || st == "error" {
		n := want[a("::1")]
		n.TLSStatus = st
		want[a("::1")] = n
	}
	opts := []cmp.Option{cmpopts.IgnoreFields(Names{}, "Checked")}
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{""}, tlsSrv.SNI()); d != "" {
		t.Errorf("SNI sent (-want +got):\n%s", d)
	}

	// A second resolver on the same cache asks nothing for answered
	// addresses: only the new one (and the transient TLS failures).
	before := dnsSrv.Queries.Load()
	cfg.TLS = false
	r2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got2, err := r2.Resolve(context.Background(), addrs)
	if err != nil {
		t.Fatal(err)
	}
	if n := dnsSrv.Queries.Load() - before; n != 1 {
		t.Errorf("second run sent %d DNS queries, want 1 (127.0.0.4 only)", n)
	}
	if st := r2.Stats(); st.CacheHits != 4 || st.PTRQueries != 1 {
		t.Errorf("stats %+v", st)
	}
	if d := cmp.Diff(want[a("127.0.0.7")].PTR, got2[a("127.0.0.7")].PTR); d != "" {
		t.Errorf("cached PTR (-want +got):\n%s", d)
	}
	if got2[a("127.0.0.4")].PTRStatus != "nxdomain" {
		t.Errorf("127.0.0.4: %+v", got2[a("127.0.0.4")])
	}
}

func TestTimeoutsAndFailures(t *testing.T) {
	udp, tcp := silent(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	tests := []struct {
		name    string
		cfg     func(*Config)
		ptr     string
		tls     string
		timeout int64
	}{
		{"dns never answers", func(c *Config) { c.DNSServer = udp; c.TLS = false }, "timeout", "", 1},
		{"tls never answers", func(c *Config) { c.PTR = false; c.TLSAddr = tcp }, "", "timeout", 1},
		{"tls refused", func(c *Config) { c.PTR = false; c.TLSAddr = closedAddr }, "", "refused", 0},
		{"not tls", func(c *Config) {
			c.PTR = false
			c.TLSAddr = StartDNSOverTCPish(t)
		}, "", "no-tls", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Timeout = 300 * time.Millisecond
			cfg.Rate = 0
			tc.cfg(&cfg)
			r, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got, err := r.Resolve(context.Background(), []netip.Addr{netip.MustParseAddr("203.0.113.9")})
			if err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("took %v with a 300ms timeout", el)
			}
			n := got[netip.MustParseAddr("203.0.113.9")]
			if n.PTRStatus != tc.ptr || n.TLSStatus != tc.tls {
				t.Errorf("status ptr=%q tls=%q, want %q %q", n.PTRStatus, n.TLSStatus, tc.ptr, tc.tls)
			}
			if st := r.Stats(); st.Timeouts != tc.timeout {
				t.Errorf("timeouts %d, want %d", st.Timeouts, tc.timeout)
			}
		})
	}
}

// StartDNSOverTCPish is a TCP server that answers a TLS hello with plain
// text (a service that is not TLS).
func StartDNSOverTCPish(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func TestConcurrencyAndRate(t *testing.T) {
	names := map[netip.Addr][]string{}
	var addrs []netip.Addr
	for i := 1; i <= 40; i++ {
		a := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		names[a] = []string{"h" + strconv.Itoa(i) + ".example"}
		addrs = append(addrs, a)
	}
	srv := resolvetest.StartDNS(t, names)
	cfg := DefaultConfig()
	cfg.DNSServer, cfg.TLS, cfg.Rate, cfg.Concurrency = srv.Addr, false, 100, 8
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := r.Resolve(context.Background(), addrs)
	if err != nil {
		t.Fatal(err)
	}
	// 40 queries at 100/s take at least ~0.39 s.
	if el := time.Since(start); el < 350*time.Millisecond {
		t.Errorf("40 queries at 100/s took only %v", el)
	}
	for a, want := range names {
		if g := got[a].PTR; len(g) != 1 || g[0] != want[0] {
			t.Errorf("%s: %v", a, g)
		}
	}
	// Cancelling stops early and says so.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r2, _ := New(cfg)
	if _, err := r2.Resolve(ctx, []netip.Addr{netip.MustParseAddr("192.0.2.200")}); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("cancelled resolve: err = %v", err)
	}
}

// TestServerErrorsCounted checks that PTR queries a real DNS server on
// 127.0.0.1 refuses or fails are counted as errors, apart from timeouts
// and from NXDOMAIN (an answer: no name).
func TestServerErrorsCounted(t *testing.T) {
	udp, _ := silent(t)
	addrs := []netip.Addr{netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::5")}
	for _, tc := range []struct {
		name     string
		server   func(t *testing.T) string
		status   string
		errors   int64
		kinds    map[string]int64
		timeouts int64
	}{
		{"refused", func(t *testing.T) string { return resolvetest.StartFailingDNS(t, dns.RcodeRefused).Addr }, "refused", 3, map[string]int64{"ptr refused": 3}, 0},
		{"servfail", func(t *testing.T) string { return resolvetest.StartFailingDNS(t, dns.RcodeServerFailure).Addr }, "servfail", 3, map[string]int64{"ptr servfail": 3}, 0},
		{"not implemented", func(t *testing.T) string { return resolvetest.StartFailingDNS(t, dns.RcodeNotImplemented).Addr }, "notimp", 3, map[string]int64{"ptr notimp": 3}, 0},
		{"nxdomain is an answer", func(t *testing.T) string { return resolvetest.StartDNS(t, nil).Addr }, "nxdomain", 0, nil, 0},
		{"no answer is a timeout", func(*testing.T) string { return udp }, "timeout", 0, nil, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.DNSServer, cfg.TLS, cfg.Rate, cfg.Timeout = tc.server(t), false, 0, 300*time.Millisecond
			r, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Resolve(context.Background(), addrs)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range addrs {
				if got[a].PTRStatus != tc.status || got[a].PTR != nil {
					t.Errorf("%s: %+v, want status %s and no name", a, got[a], tc.status)
				}
			}
			want := Stats{PTRQueries: 3, Timeouts: tc.timeouts, Errors: tc.errors, ErrorKinds: tc.kinds}
			if d := cmp.Diff(want, r.Stats()); d != "" {
				t.Errorf("stats (-want +got):\n%s", d)
			}
		})
	}
}

// TestServerErrorsNotCached checks that a PTR answer the server refused or
// failed is asked again on the next run, from a real DNS server on
// 127.0.0.1 that then knows the name; an NXDOMAIN answer stays cached.
func TestServerErrorsNotCached(t *testing.T) {
	a := netip.MustParseAddr("203.0.113.9")
	for _, tc := range []struct {
		name   string
		first  func(t *testing.T) *resolvetest.DNSServer
		asked  int64 // queries the second run sends
		status string
	}{
		{"refused", func(t *testing.T) *resolvetest.DNSServer { return resolvetest.StartFailingDNS(t, dns.RcodeRefused) }, 1, "ok"},
		{"servfail", func(t *testing.T) *resolvetest.DNSServer {
			return resolvetest.StartFailingDNS(t, dns.RcodeServerFailure)
		}, 1, "ok"},
		{"nxdomain is kept", func(t *testing.T) *resolvetest.DNSServer { return resolvetest.StartDNS(t, nil) }, 0, "nxdomain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "resolve.json")
			run := func(server string) (Names, Stats) {
				cfg := DefaultConfig()
				cfg.DNSServer, cfg.TLS, cfg.Rate, cfg.CachePath = server, false, 0, cache
				r, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				got, err := r.Resolve(context.Background(), []netip.Addr{a})
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Save(); err != nil {
					t.Fatal(err)
				}
				return got[a], r.Stats()
			}
			run(tc.first(t).Addr)
			good := resolvetest.StartDNS(t, map[netip.Addr][]string{a: {"host.example.net"}})
			n, st := run(good.Addr)
			if got := good.Queries.Load(); got != tc.asked || st.PTRQueries != tc.asked {
				t.Errorf("second run sent %d queries (stats %d), want %d", got, st.PTRQueries, tc.asked)
			}
			if n.PTRStatus != tc.status {
				t.Errorf("second run: %+v, want status %s", n, tc.status)
			}
		})
	}
}
