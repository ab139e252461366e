package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/detect"
	"github.com/flowlens/flowlens/output"
	"github.com/flowlens/flowlens/schema"
	"github.com/flowlens/flowlens/store"
	"github.com/flowlens/flowlens/store/duckdb"
)

// detectFlags are the options of `flowlens detect`.
type detectFlags struct {
	rulesDir    string
	only        []string
	sinks       []string
	webhooks    []string
	slacks      []string
	alertsFile  string
	final       bool
	notFinal    bool
	failOnAlert bool
	timeout     time.Duration
	attempts    int
	backoff     time.Duration
	redeliver   bool
}

// loadRules reads the rule set: --rules DIR (or FILE), else the shipped
// one; --rule keeps only the named rules.
func loadRules(dir string, only []string) ([]*detect.Rule, error) {
	var rules []*detect.Rule
	var err error
	if dir == "" {
		rules, err = detect.Shipped()
	} else {
		rules, err = detect.LoadDir(dir)
	}
	if err != nil {
		var pe *detect.Error
		if errors.As(err, &pe) {
			return nil, &UsageError{err}
		}
		return nil, err
	}
	if len(only) == 0 {
		return rules, nil
	}
	var out []*detect.Rule
	for _, id := range only {
		found := false
		for _, r := range rules {
			if r.ID == id {
				out = append(out, r)
				found = true
			}
		}
		if !found {
			return nil, usagef("--rule %s: no such rule (see 'flowlens rules list')", id)
		}
	}
	return out, nil
}

// buildSinks turns the sink flags into sinks. Stdout is handled apart:
// it shows the new alerts of this run only.
func (f *detectFlags) buildSinks() (stdout bool, sinks []alert.Sink, err error) {
	stdout = len(f.sinks) == 0
	hc := func(url string) alert.HTTPConfig {
		c := alert.DefaultHTTPConfig(url)
		c.Timeout, c.Attempts, c.Backoff = f.timeout, f.attempts, f.backoff
		return c
	}
	webhooks, slacks, files := f.webhooks, f.slacks, []string{}
	if f.alertsFile != "" {
		files = append(files, f.alertsFile)
	}
	for _, s := range f.sinks {
		kind, arg, _ := strings.Cut(s, ":")
		switch kind {
		case "stdout":
			stdout = true
		case "none":
		case "file":
			files = append(files, arg)
		case "webhook":
			webhooks = append(webhooks, arg)
		case "slack":
			slacks = append(slacks, arg)
		default:
			// Only the kind is shown: the rest may be a URL with a token.
			return false, nil, usagef("--sink %q: unknown kind; want stdout, none, file:PATH, webhook:URL or slack:URL", kind+":…")
		}
		if kind != "stdout" && kind != "none" && arg == "" {
			return false, nil, usagef("--sink %s: give the path or URL after a colon (%s:...)", s, kind)
		}
	}
	for _, p := range files {
		sinks = append(sinks, &alert.File{Path: p})
	}
	for _, u := range webhooks {
		w, err := alert.NewWebhook(hc(u))
		if err != nil {
			return false, nil, &UsageError{err}
		}
		sinks = append(sinks, w)
	}
	for _, u := range slacks {
		s, err := alert.NewSlack(hc(u))
		if err != nil {
			return false, nil, &UsageError{err}
		}
		sinks = append(sinks, s)
	}
	return stdout, sinks, nil
}

func newDetectCmd(e *env) *cobra.Command {
	var sf storeFlags
	var df detectFlags
	c := &cobra.Command{
		Use:   "detect [SOURCE...]",
		Short: "Run the detection rules and raise alerts",
		Long: `Run detection rules (the shipped set, or --rules DIR) over the flows of the
database (--db) or of the SOURCE files, and raise an alert for every key and
window where a rule's measure reaches its threshold ('flowlens rules list'
shows the rules).

Windows are in event time (record start). With SOURCE files every window is
evaluated (the data is final); on the database a window waits until the
newest record is past its end plus the rule's allowed lateness (--final
evaluates every window). --since and --until select the windows evaluated;
rules with a baseline or a new-key lookback read the history before them.

Alerts are stored in the database with dedupe: the same rule and key fire
once per suppression period, so running detect again over the same data
raises nothing new, and records that arrive late still count. With SOURCE
files alerts go to an in-memory store unless --db is given explicitly.
New alerts are printed (-o table|json|ndjson|csv) and sent to the sinks:
--alerts-file (NDJSON, appended), --webhook (JSON POST) and --slack
(incoming webhook), with retries. A sink that fails leaves its alerts in
the store marked undelivered for that sink, and the next run sends them
again to that sink only (detect exits with code 1 when a sink failed). An
alert that waits for a sink the run is not given stays stored, and detect
says so on stderr. With --fail-on-alert detect exits with
code 3 when it raised a new alert.

The enrichment flags (--own-net, --inventory, --ip-ranges, --allow, --ioc)
fill the columns rules read (src.internal, dst.entity, dst.list,
dst.threat...) for SOURCE files; the database has them from ingest.`,
		Example: `  flowlens detect flows.log.gz --own-net 10.0.0.0/8 --ioc iocs.csv
  flowlens detect --since 24h --webhook https://hooks.example.com/flowlens
  flowlens detect --rules ./my-rules --slack https://hooks.slack.com/services/T/B/X --fail-on-alert
  flowlens detect AWSLogs/ --rule portscan-vertical -o json`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := sf.prepare(time.Now()); err != nil {
				return err
			}
			if df.final && df.notFinal {
				return usagef("--final and --not-final are exclusive")
			}
			ofmt, err := outputFormat(sf.output, e)
			if err != nil {
				return err
			}
			rules, err := loadRules(df.rulesDir, df.only)
			if err != nil {
				return err
			}
			stdout, sinks, err := df.buildSinks()
			if err != nil {
				return err
			}
			return runDetect(c, e, &sf, &df, args, rules, stdout, ofmt, sinks)
		},
	}
	sf.register(c)
	sf.registerFill(c)
	fl := c.Flags()
	fl.StringVar(&df.rulesDir, "rules", "", "directory (or file) of rule YAML files instead of the shipped set")
	fl.StringArrayVar(&df.only, "rule", nil, "run only this rule ID (repeatable)")
	fl.StringArrayVar(&df.sinks, "sink", nil, "where alerts go: stdout, none, file:PATH, webhook:URL, slack:URL (repeatable; default stdout)")
	fl.StringArrayVar(&df.webhooks, "webhook", nil, "POST each new alert as JSON to this URL (repeatable)")
	fl.StringArrayVar(&df.slacks, "slack", nil, "post each new alert to this Slack incoming-webhook URL (repeatable)")
	fl.StringVar(&df.alertsFile, "alerts-file", "", "append new alerts to this NDJSON file")
	fl.BoolVar(&df.final, "final", false, "evaluate every window now, even those that may still get late records")
	fl.BoolVar(&df.notFinal, "not-final", false, "with SOURCE files, evaluate only windows complete by the data's own watermark")
	fl.BoolVar(&df.failOnAlert, "fail-on-alert", false, "exit with code 3 when a new alert was raised")
	fl.DurationVar(&df.timeout, "webhook-timeout", 10*time.Second, "timeout of each webhook/Slack request")
	fl.IntVar(&df.attempts, "webhook-attempts", 4, "tries per alert before a webhook/Slack delivery fails")
	fl.DurationVar(&df.backoff, "webhook-backoff", 500*time.Millisecond, "wait before the first retry (doubles each time)")
	fl.BoolVar(&df.redeliver, "redeliver", true, "send again the stored alerts whose delivery failed on an earlier run")
	return c
}

// detectFields are the fields detections read from SOURCE files.
func detectFields() schema.Set { return schema.All() }

func runDetect(c *cobra.Command, e *env, sf *storeFlags, df *detectFlags, args []string, rules []*detect.Rule, stdout bool, ofmt output.Format, sinks []alert.Sink) error {
	ctx := c.Context()
	opt := detect.Options{Where: sf.expr, Final: df.final}
	if sf.from != 0 {
		opt.Since = time.Unix(sf.from, 0)
	}
	if sf.to != 0 {
		opt.Until = time.Unix(sf.to, 0)
	}
	var flows store.Store
	var alerts alert.Store
	// kept says whether alerts outlive this run (a database, not the
	// in-memory store of SOURCE files), so failed deliveries are retried.
	kept := true
	if len(args) == 0 {
		cfg, err := sf.duckConfig()
		if err != nil {
			return err
		}
		if !fileExists(cfg.Path) {
			return fmt.Errorf("no database at %s: give SOURCE files, or run 'flowlens ingest SOURCE...' first", cfg.Path)
		}
		st, err := duckdb.Open(cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		flows, alerts = st, st
	} else {
		opt.Final = !df.notFinal
		done, err := sf.loadFill(c, e, schema.Set{}, true)
		if err != nil {
			return err
		}
		defer done()
		// Load whole inputs: baselines and lookbacks read the history
		// before --since; --where still applies while loading.
		load := *sf
		load.from, load.to, load.timeFilter = 0, 0, false
		st, _, err := openForQuery(ctx, e, &load, args, detectFields())
		if err != nil {
			return err
		}
		defer st.Close()
		flows = st
		opt.Where = nil
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = detect.ShellQuote(a)
		}
		opt.FollowUpArgs = strings.Join(quoted, " ")
		alerts = st.(alert.Store)
		kept = c.Flags().Changed("db")
		if kept {
			as, _, err := sf.openWritable()
			if err != nil {
				return err
			}
			defer as.Close()
			alerts = as
		}
	}
	start := time.Now()
	rep, err := detect.Evaluate(ctx, flows, rules, opt)
	if err != nil {
		return queryError(err)
	}
	// Earlier alerts go again to the sinks that failed them; with no sink
	// configured they are still listed, so that the ones waiting for a
	// sink this run lacks are reported.
	var redeliver []alert.Pending
	if df.redeliver {
		if redeliver, err = alerts.ListPending(ctx); err != nil {
			return err
		}
	}
	suppress := map[string]time.Duration{}
	for _, r := range rules {
		suppress[r.ID] = r.Suppress
	}
	res, err := alert.Dispatch(ctx, alerts, rep.Alerts, func(a *alert.Alert) time.Duration { return suppress[a.Rule] }, redeliver, sinks)
	if err != nil {
		return err
	}
	if stdout {
		w := &alert.Writer{W: e.stdout, Format: ofmt}
		if err := w.Send(ctx, res.New); err != nil {
			return err
		}
	}
	summarizeDetect(e, rep, res, time.Since(start))
	if res.DeliveryErr != nil {
		if !kept {
			return fmt.Errorf("alert delivery failed (the alerts were held in memory only: give --db to keep them and send them again on a later run): %w", res.DeliveryErr)
		}
		return fmt.Errorf("alert delivery failed (the alerts are stored and will be sent again on the next run): %w", res.DeliveryErr)
	}
	if df.failOnAlert && len(res.New) > 0 {
		return &matchError{n: len(res.New)}
	}
	return nil
}

func summarizeDetect(e *env, rep *detect.Report, res alert.Result, el time.Duration) {
	var pending, skipped []string
	for _, r := range rep.Rules {
		if r.Pending {
			pending = append(pending, r.Rule)
		}
		if r.Skipped != "" {
			skipped = append(skipped, r.Rule+" ("+r.Skipped+")")
		}
	}
	fmt.Fprintf(e.stderr, "flowlens: %d rule(s) in %.2fs: %d alert(s), %d new, %d suppressed as already raised",
		len(rep.Rules), el.Seconds(), len(rep.Alerts), len(res.New), res.Suppressed)
	if res.Redelivered > 0 {
		fmt.Fprintf(e.stderr, ", %d redelivered", res.Redelivered)
	}
	fmt.Fprintln(e.stderr)
	missing := make([]string, 0, len(res.Unconfigured))
	for id := range res.Unconfigured {
		missing = append(missing, id)
	}
	slices.Sort(missing)
	for _, id := range missing {
		name := id
		if name == "" {
			name = "a sink an older flowlens did not record"
		}
		fmt.Fprintf(e.stderr, "flowlens: %d alert(s) failed earlier on %s, which this run does not send to: they stay stored as undelivered; give that sink again to send them\n",
			res.Unconfigured[id], name)
	}
	if len(pending) > 0 {
		fmt.Fprintf(e.stderr, "flowlens: newest windows left for a later run (waiting for late records): %s\n", strings.Join(pending, ", "))
	}
	if len(skipped) > 0 {
		fmt.Fprintf(e.stderr, "flowlens: nothing to evaluate for %s\n", strings.Join(skipped, ", "))
	}
}
