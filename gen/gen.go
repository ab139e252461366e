package gen

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"
)

// prepare validates cfg and builds the estate, the generator, the planted
// records and the Truth they start.
func prepare(cfg Config) (*gen, *Truth, []rec, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, err
	}
	cfg = cfg.withDefaults()
	win := int64(cfg.Window / time.Second)
	s := cfg.Start.Unix()
	cfg.Start = time.Unix(s-s%win, 0).UTC()
	e := newEstate(cfg)
	g := newGen(cfg, e)
	t := newTruth(cfg, e)
	planted := g.plant(t)
	if len(planted) > cfg.Records {
		return nil, nil, nil, fmt.Errorf("gen: %w: %d records requested, the scenarios need %d", ErrTooFewRecords, cfg.Records, len(planted))
	}
	return g, t, planted, nil
}

// run produces exactly cfg.Records records in time-window order and hands
// each to out, which must not keep the pointer. Windows get a share of the
// background that follows a daily cycle (busiest mid-afternoon UTC); planted
// records and the window's NODATA/SKIPDATA records are mixed into it at
// random positions.
func (g *gen) run(planted []rec, t *Truth, out func(*rec) error) error {
	W := numWindows(g.cfg)
	B := float64(g.cfg.Records - len(planted))
	t0 := g.cfg.Start.Unix()
	cum := make([]float64, W+1)
	for w := int64(0); w < W; w++ {
		h := float64((t0+w*g.win)%86400) / 3600
		cum[w+1] = cum[w] + 1 + 0.35*math.Cos(2*math.Pi*(h-15)/24)
	}
	share := func(w int64) int { return int(math.Round(B * cum[w] / cum[W])) }
	kt := newKindTable(len(g.e.vpcs) > 1)
	emit := func(r *rec) error {
		t.Stats.count(r)
		return out(r)
	}
	pi := 0
	for w := int64(0); w < W; w++ {
		ws := t0 + w*g.win
		left := share(w+1) - share(w)
		pj := pi
		for pj < len(planted) && planted[pj].start < ws+g.win {
			pj++
		}
		pleft := pj - pi
		fixed := g.windowFixed(ws)
		for left > 0 || pleft > 0 {
			if pleft > 0 && (left == 0 || g.r.IntN(left+pleft) < pleft) {
				t.Stats.Planted++
				if err := emit(&planted[pi]); err != nil {
					return err
				}
				pi++
				pleft--
				continue
			}
			// NODATA and SKIPDATA records take their share of the background
			// at random positions (all of it when the window is small).
			if len(fixed) > 0 && g.r.IntN(left) < len(fixed) {
				if err := emit(&fixed[0]); err != nil {
					return err
				}
				fixed = fixed[1:]
				left--
				continue
			}
			g.background(kt.pick(g.r), ws)
			for i := range g.conv {
				if left == len(fixed) {
					break // the rest of the window belongs to the fixed records
				}
				if err := emit(&g.conv[i]); err != nil {
					return err
				}
				left--
			}
		}
	}
	return nil
}

// Generate writes cfg.Records records (after a header line when cfg.Header
// is set; gzip-compressed when cfg.Gzip is set) to w and returns what they
// hold.
func Generate(cfg Config, w io.Writer) (*Truth, error) {
	g, t, planted, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	cfg = g.cfg
	out := w
	var zw *gzip.Writer
	if cfg.Gzip {
		zw = gzip.NewWriter(w)
		out = zw
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	if cfg.Header {
		bw.WriteString(cfg.Format.Header())
		bw.WriteByte('\n')
	}
	rd := newRenderer(cfg.Format, g.e.tgwID, cfg.Region)
	err = g.run(planted, t, func(r *rec) error {
		_, err := bw.Write(rd.appendRecord(bw.AvailableBuffer(), r))
		return err
	})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("gen: write: %w", err)
	}
	return t, nil
}

// treeBucket is the length of the periods S3 delivery groups records by.
const treeBucket = 300

// WriteTree writes the records under dir as S3 delivery lays them out: per
// VPC flow log and 5-minute period, a gzip file
// AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD/{account}_vpcflowlogs_{region}_{flowlogid}_{YYYYMMDDTHHmmZ}_{hash}.log.gz
// starting with a header line (always, whatever cfg.Header says). It
// returns the Truth and the paths written, in the order they were created.
func WriteTree(cfg Config, dir string) (*Truth, []string, error) {
	g, t, planted, err := prepare(cfg)
	if err != nil {
		return nil, nil, err
	}
	tw := &treeWriter{
		dir: dir, g: g, rd: newRenderer(g.cfg.Format, g.e.tgwID, g.cfg.Region),
		header: g.cfg.Format.Header(), open: make(map[*vpc]*treeFile), bucket: -1,
	}
	err = g.run(planted, t, tw.write)
	if cerr := tw.closeAll(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, tw.paths, err
	}
	return t, tw.paths, nil
}

type treeFile struct {
	path string
	f    *os.File
	zw   *gzip.Writer
	bw   *bufio.Writer
}

type treeWriter struct {
	dir    string
	g      *gen
	rd     *renderer
	header string
	open   map[*vpc]*treeFile
	order  []*treeFile
	bucket int64
	paths  []string
}

func (tw *treeWriter) write(r *rec) error {
	b := tw.g.window(r.start)
	b -= b % treeBucket
	if b != tw.bucket {
		if err := tw.closeAll(); err != nil {
			return err
		}
		tw.bucket = b
	}
	tf := tw.open[r.eni.vpc]
	if tf == nil {
		var err error
		if tf, err = tw.create(r.eni.vpc); err != nil {
			return err
		}
	}
	if _, err := tf.bw.Write(tw.rd.appendRecord(tf.bw.AvailableBuffer(), r)); err != nil {
		return fmt.Errorf("gen: write %s: %w", tf.path, err)
	}
	return nil
}

// TreeFileName returns the S3 key (relative path) of the file holding the
// records of a flow log for the 5-minute period starting at t.
func TreeFileName(account, region, flowLogID string, t time.Time, hash uint32) string {
	t = t.UTC()
	name := fmt.Sprintf("%s_vpcflowlogs_%s_%s_%s_%08x.log.gz", account, region, flowLogID, t.Format("20060102T1504Z"), hash)
	return filepath.Join("AWSLogs", account, "vpcflowlogs", region, t.Format("2006"), t.Format("01"), t.Format("02"), name)
}

func (tw *treeWriter) create(v *vpc) (*treeFile, error) {
	h := fnv.New32a()
	h.Write([]byte(v.flowLogID))
	h.Write(strconv.AppendUint(nil, tw.g.cfg.Seed, 10))
	h.Write(strconv.AppendInt(nil, tw.bucket, 10))
	p := filepath.Join(tw.dir, TreeFileName(v.acct.id, tw.g.cfg.Region, v.flowLogID, time.Unix(tw.bucket, 0), h.Sum32()))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	f, err := os.Create(p)
	if err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	zw := gzip.NewWriter(f)
	tf := &treeFile{path: p, f: f, zw: zw, bw: bufio.NewWriterSize(zw, 64<<10)}
	tf.bw.WriteString(tw.header)
	tf.bw.WriteByte('\n')
	tw.open[v] = tf
	tw.order = append(tw.order, tf)
	tw.paths = append(tw.paths, p)
	return tf, nil
}

// closeAll finishes every open file, in creation order.
func (tw *treeWriter) closeAll() error {
	var first error
	for _, tf := range tw.order {
		err := tf.bw.Flush()
		if err == nil {
			err = tf.zw.Close()
		}
		if cerr := tf.f.Close(); err == nil {
			err = cerr
		}
		if err != nil && first == nil {
			first = fmt.Errorf("gen: write %s: %w", tf.path, err)
		}
	}
	clear(tw.open)
	tw.order = tw.order[:0]
	return first
}
