package detect

import (
	"bytes"
	"context"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/enrich/lists"
	"github.com/flowlens/flowlens/enrich/netclass"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/intel"
	"github.com/flowlens/flowlens/inventory"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
	"github.com/flowlens/flowlens/store/duckdb"
)

// estateEnricher builds the enrichment a deployment would configure for
// the generated estate, with the real lookups: the inventory gen writes
// (entities, VPC CIDRs as own networks), the approved resolvers and the
// intentionally public instances as allow-lists, and the generated IOC
// list as threat intel.
func estateEnricher(t testing.TB, tr *gen.Truth) *enrich.Enricher {
	t.Helper()
	var invJSON bytes.Buffer
	if err := gen.WriteInventory(tr, &invJSON); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Parse(invJSON.Bytes())
	if err != nil {
		t.Fatalf("inventory gen wrote: %v", err)
	}
	cfg := netclass.Config{OwnNetworks: inv.OwnNetworks()}
	var public []string
	for _, f := range tr.Estate.Interfaces {
		if f.Role == "public-web" || f.Role == "bastion" {
			public = append(public, f.PrivateIP.String())
			if f.IPv6.IsValid() {
				public = append(public, f.IPv6.String())
			}
		}
	}
	dns, err := lists.Parse("approved-dns", []byte("8.8.8.8\n8.8.4.4\n1.1.1.1\n1.0.0.1\n9.9.9.9\n"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := lists.Parse("public-endpoints", []byte(strings.Join(public, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := lists.NewSet([]lists.List{dns, pub})
	if err != nil {
		t.Fatal(err)
	}
	en := &enrich.Enricher{Class: netclass.New(cfg), Lists: ls, Inventory: inv.NewIndex()}
	if len(tr.IOC) > 0 {
		var csv bytes.Buffer
		if err := gen.WriteIOCList(tr, &csv); err != nil {
			t.Fatal(err)
		}
		res := intel.Parse(csv.Bytes(), intel.FormatAuto, "gen-ioc")
		en.Threat = intel.NewSet(res.Indicators)
	}
	return en
}

// loadGenerated generates cfg's records, enriches them and loads them into
// a fresh in-memory store, as 'flowlens ingest' with the enrichment flags
// does.
func loadGenerated(t testing.TB, cfg gen.Config) (*gen.Truth, *duckdb.Store) {
	t.Helper()
	var buf bytes.Buffer
	tr, err := gen.Generate(cfg, &buf)
	if err != nil {
		t.Fatal(err)
	}
	st := memStore(t)
	appendLog(t, st, "gen.log", buf.Bytes(), estateEnricher(t, tr))
	return tr, st
}

func memStore(t testing.TB) *duckdb.Store {
	t.Helper()
	c := duckdb.DefaultConfig()
	c.MemoryLimit = 1 << 30
	st, err := duckdb.OpenMemory(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// appendLog parses v2 text, enriches it and commits it as object id.
func appendLog(t testing.TB, st store.Store, id string, text []byte, en *enrich.Enricher) {
	t.Helper()
	ctx := context.Background()
	p := flowlog.NewParser(flowlog.V2, schema.All())
	fill := en.NewFiller(en.Columns())
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := tx.BeginObject(ctx, store.Object{ID: id, Size: int64(len(text))}); err != nil {
		t.Fatal(err)
	}
	b := flowlog.NewBatch()
	var n int64
	for len(text) > 0 {
		cut := min(len(text), 4<<20)
		if i := bytes.LastIndexByte(text[:cut], '\n'); i >= 0 && cut < len(text) {
			cut = i + 1
		}
		var ch flowlog.Chunk
		p.ParseChunk(text[:cut], b, &ch)
		if ch.Stats.Bad > 0 {
			t.Fatalf("%s: %d bad lines", id, ch.Stats.Bad)
		}
		fill.Fill(b)
		if err := tx.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
		n += int64(b.N)
		text = text[cut:]
	}
	if err := tx.EndObject(ctx, store.Result{Records: n}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func shippedRules(t testing.TB) map[string]*Rule {
	t.Helper()
	rules, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*Rule{}
	for _, r := range rules {
		m[r.ID] = r
	}
	return m
}

// keysByRule evaluates every shipped rule and returns the keys of the
// alerts (after dedupe) of each rule.
func keysByRule(t testing.TB, st *duckdb.Store, opt Options) map[string][]string {
	t.Helper()
	rules, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), st, rules, opt)
	if err != nil {
		t.Fatal(err)
	}
	sup := shippedRules(t)
	res, err := alert.Dispatch(context.Background(), st, rep.Alerts, func(a *alert.Alert) time.Duration { return sup[a.Rule].Suppress }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, a := range res.New {
		out[a.Rule] = append(out[a.Rule], a.Key.String())
	}
	for _, ks := range out {
		sort.Strings(ks)
	}
	return out
}

func key(pairs ...any) string {
	var p alert.Pairs
	for i := 0; i+1 < len(pairs); i += 2 {
		v := pairs[i+1]
		switch x := v.(type) {
		case netip.Addr:
			v = x.String()
		case int32:
			v = int64(x)
		case int:
			v = int64(x)
		}
		p = append(p, alert.Pair{Name: pairs[i].(string), Value: v})
	}
	return p.String()
}

func scenarioConfig(seed uint64, records int, d time.Duration) gen.Config {
	cfg := gen.DefaultConfig()
	cfg.Seed, cfg.Records, cfg.Duration = seed, records, d
	x := &cfg.Extra
	x.Sweep.Enabled, x.Bypass.Enabled, x.DBEgress.Enabled, x.SkipData.Enabled = true, true, true, true
	x.DNS.Enabled, x.Tunnel.Enabled = true, true
	return cfg
}

// TestRulesOnScenarios checks every shipped rule against data with its
// planted scenario (the alert the Truth predicts fires, and the rule's
// alerts are all about the scenario) and against the same estate's clean
// background (nothing fires at all).
func TestRulesOnScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and loads 300,000 records")
	}
	cfg := scenarioConfig(7, 200_000, 3*time.Hour)
	tr, st := loadGenerated(t, cfg)
	got := keysByRule(t, st, Options{Final: true})
	if tr.Exfiltration.Start < tr.Start.Unix()+1800 {
		t.Fatalf("seed %d places the exfiltration %ds after the start: the baseline rule needs 30 minutes of history; pick another seed",
			cfg.Seed, tr.Exfiltration.Start-tr.Start.Unix())
	}
	x := tr.Extra
	var iocOut []string
	iocAddrs := map[string]bool{}
	for _, e := range tr.IOC {
		iocAddrs[e.IP.String()] = true
		if e.Direction == "outbound" {
			for _, h := range e.Hosts {
				iocOut = append(iocOut, key("srcaddr", h, "dstaddr", e.IP))
			}
		}
	}
	natIPs := map[string]bool{}
	for _, f := range tr.Estate.Interfaces {
		if f.Role == "nat-gateway" {
			natIPs[f.PrivateIP.String()] = true
		}
	}
	for _, tc := range []struct {
		rule string
		want []string
		// about reports whether an alert key is part of the scenario.
		about func(k string) bool
	}{
		{"portscan-vertical", []string{key("srcaddr", tr.PortScan.Scanner, "dstaddr", tr.PortScan.Target)}, nil},
		{"portscan-horizontal", []string{key("srcaddr", x.Sweep.Source, "dstport", x.Sweep.Port)}, nil},
		{"bruteforce-remote-access", []string{key("srcaddr", tr.SSHBruteForce.Attacker, "dstport", 22)}, nil},
		{"exfil-volume", []string{key("srcaddr", tr.Exfiltration.Source, "dstaddr", tr.Exfiltration.Destination)}, nil},
		{"exfil-baseline", []string{key("srcaddr", tr.Exfiltration.Source)}, nil},
		{"threat-intel-contact", iocOut, func(k string) bool {
			for a := range iocAddrs {
				if strings.Contains(k, "addr="+a+" ") || strings.HasSuffix(k, "addr="+a) {
					return true
				}
			}
			return false
		}},
		{"lb-bypass", []string{key("dstaddr", x.Bypass.Target, "dstport", x.Bypass.Port)}, nil},
		{"db-egress", []string{key("srcaddr", x.DBEgress.RDS, "dstaddr", x.DBEgress.RDSDestination),
			key("srcaddr", x.DBEgress.PortHost, "dstaddr", x.DBEgress.PortClient)}, nil},
		{"unusual-protocol", []string{key("srcaddr", x.Tunnel.Source, "dstaddr", x.Tunnel.Peer, "protocol", x.Tunnel.Protocol),
			key("srcaddr", x.Tunnel.Peer, "dstaddr", x.Tunnel.Source, "protocol", x.Tunnel.Protocol)}, nil},
		{"dns-unapproved-resolver", []string{key("srcaddr", x.DNS.Source, "dstaddr", x.DNS.Resolver)}, nil},
		{"flowlog-skipdata", []string{key("interface_id", x.SkipData.Interfaces[0]), key("interface_id", x.SkipData.Interfaces[1])}, nil},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			keys := got[tc.rule]
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if tc.about == nil {
				// Exactly the scenario's alerts.
				if d := cmp.Diff(want, keys); d != "" {
					t.Errorf("alerts (-want +got):\n%s", d)
				}
				return
			}
			for _, k := range want {
				if !contains(keys, k) {
					t.Errorf("missing alert %s (got %v)", k, keys)
				}
			}
			for _, k := range keys {
				if !tc.about(k) {
					t.Errorf("alert %s is not about the scenario", k)
				}
			}
		})
	}
	// Each planted C2 contact raises one alert, keyed host first: the
	// answers (to a NAT gateway's ports from 1024 up too) add none.
	t.Run("threat-intel-contact once per contact", func(t *testing.T) {
		outbound := 0
		for _, e := range tr.IOC {
			if e.Direction != "outbound" || e.Records == 0 {
				continue
			}
			outbound++
			var want, about []string
			for _, h := range e.Hosts {
				want = append(want, key("srcaddr", h, "dstaddr", e.IP))
			}
			for _, k := range got["threat-intel-contact"] {
				if strings.Contains(k, "addr="+e.IP.String()+" ") || strings.HasSuffix(k, "addr="+e.IP.String()) {
					about = append(about, k)
				}
			}
			sort.Strings(want)
			if d := cmp.Diff(want, about); d != "" {
				t.Errorf("alerts about %v (-want +got):\n%s", e.IP, d)
			}
		}
		if outbound == 0 {
			t.Fatal("no C2 contact planted")
		}
	})
	if _, ok := got["egress-new-destination"]; ok {
		t.Errorf("egress-new-destination fired on 3 hours of data: %v", got["egress-new-destination"])
	}

	t.Run("clean background", func(t *testing.T) {
		clean := cfg
		clean.Scenarios, clean.Extra = gen.Scenarios{}, gen.Extra{}
		_, st := loadGenerated(t, clean)
		if got := keysByRule(t, st, Options{Final: true}); len(got) > 0 {
			t.Errorf("alerts on the clean background: %v", got)
		}
	})
}

// TestNewDestination checks the egress-drift rule over eight days: the new
// destination planted at the end fires, the clean week does not.
func TestNewDestination(t *testing.T) {
	if testing.Short() {
		t.Skip("generates eight days of records")
	}
	for _, tc := range []struct {
		name    string
		planted bool
	}{{"planted", true}, {"clean", false}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := gen.DefaultConfig()
			cfg.Seed, cfg.Records, cfg.Duration, cfg.Window = 3, 150_000, 8*24*time.Hour, 10*time.Minute
			cfg.Scenarios = gen.Scenarios{}
			cfg.Extra.NewDest.Enabled = tc.planted
			tr, st := loadGenerated(t, cfg)
			r := shippedRules(t)["egress-new-destination"]
			rep, err := Evaluate(context.Background(), st, []*Rule{r}, Options{Final: true})
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, a := range rep.Alerts {
				keys = append(keys, a.Key.String())
			}
			var want []string
			if tc.planted {
				want = []string{key("dstaddr", tr.Extra.NewDest.Destination)}
			}
			if d := cmp.Diff(want, dedupe(keys)); d != "" {
				t.Errorf("alerts (-want +got):\n%s", d)
			}
		})
	}
}

func dedupe(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
