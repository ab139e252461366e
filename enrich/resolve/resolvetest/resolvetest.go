// Package resolvetest runs real DNS and TLS servers on 127.0.0.1 for
// tests of reverse DNS and certificate-name lookups.
package resolvetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// DNSServer is a real DNS server on 127.0.0.1 answering PTR queries from
// a table; it counts the queries it saw.
type DNSServer struct {
	Addr    string
	Queries atomic.Int64
	srv     *dns.Server
}

// StartDNS serves names (address -> PTR names; an address mapped to nil
// gets an empty answer, one missing gets NXDOMAIN).
func StartDNS(t testing.TB, names map[netip.Addr][]string) *DNSServer {
	t.Helper()
	byName := map[string][]string{}
	present := map[string]bool{}
	for a, ns := range names {
		r, _ := dns.ReverseAddr(a.String())
		byName[r] = ns
		present[r] = true
	}
	return serveDNS(t, func(m *dns.Msg, q dns.Question) {
		if q.Qtype != dns.TypePTR || !present[q.Name] {
			m.Rcode = dns.RcodeNameError
		}
		for _, n := range byName[q.Name] {
			m.Answer = append(m.Answer, &dns.PTR{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 300}, Ptr: dns.Fqdn(n)})
		}
	})
}

// StartFailingDNS answers every query with rcode (dns.RcodeRefused,
// dns.RcodeServerFailure...) and no records, as a misconfigured or
// broken resolver does.
func StartFailingDNS(t testing.TB, rcode int) *DNSServer {
	t.Helper()
	return serveDNS(t, func(m *dns.Msg, _ dns.Question) { m.Rcode = rcode })
}

// serveDNS runs a UDP server on 127.0.0.1 whose answer to each question
// answer fills in.
func serveDNS(t testing.TB, answer func(m *dns.Msg, q dns.Question)) *DNSServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &DNSServer{Addr: pc.LocalAddr().String()}
	started := make(chan struct{})
	s.srv = &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
			s.Queries.Add(1)
			m := new(dns.Msg)
			m.SetReply(req)
			answer(m, req.Question[0])
			w.WriteMsg(m)
		})}
	go s.srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { s.srv.Shutdown() })
	return s
}

// TLSServer is a real TLS server on 127.0.0.1 presenting a certificate
// with DNS names; it records the SNI names clients sent.
type TLSServer struct {
	Addr string
	Port int
	// Handshakes counts the handshakes that reached the point where the
	// server presents its certificate (counted before the client can have
	// it, so a client that got the certificate is always counted).
	Handshakes atomic.Int64
	mu         sync.Mutex
	sni        []string
}

// SNI returns the server names clients sent, one per handshake ("" for none).
func (s *TLSServer) SNI() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sni...)
}

// StartTLS serves a self-signed certificate for dnsNames.
func StartTLS(t testing.TB, dnsNames ...string) *TLSServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "default.test"}, DNSNames: dnsNames,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	s := &TLSServer{}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		s.mu.Lock()
		s.sni = append(s.sni, h.ServerName)
		s.mu.Unlock()
		s.Handshakes.Add(1)
		return &cert, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.Port = ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}
