package cwl

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// CursorReader reads the committed cursors of a log group. The DuckDB
// store (and its ingest transaction) implements it.
type CursorReader interface {
	// CWLCursors returns, per stream of group, the newest event timestamp
	// ingested (ms) and the ids (with timestamps) of the events kept for
	// dedupe: those at or after that cursor minus the look-back.
	CWLCursors(ctx context.Context, group string) (last map[string]int64, seen map[string]map[string]int64, err error)
}

// CursorWriter writes cursors. The DuckDB ingest transaction implements
// it, so that cursors commit atomically with the rows they account for.
type CursorWriter interface {
	// SaveCWLCursors sets the cursors of the streams in last, adds the
	// event ids in added (stream -> id -> timestamp), and forgets the ids
	// of each stream in keepFrom older than its value.
	SaveCWLCursors(ctx context.Context, group string, last map[string]int64,
		added map[string]map[string]int64, keepFrom map[string]int64) error
}

// CursorStore reads and writes cursors.
type CursorStore interface {
	CursorReader
	CursorWriter
}

// State is what Poll knows about a group: per stream, the newest event
// timestamp ingested and the ids of the events at or after that time
// minus the look-back. A poll reads from the newest cursor minus the
// look-back and skips the events whose ids it holds, so that it picks up
// exactly the new events, late ones included.
type State struct {
	last  map[string]int64
	seen  map[string]map[string]int64
	polls int
}

// NewState returns an empty state: everything is new.
func NewState() *State {
	return &State{last: map[string]int64{}, seen: map[string]map[string]int64{}}
}

// LoadState reads the committed state of group.
func LoadState(ctx context.Context, r CursorReader, group string) (*State, error) {
	last, seen, err := r.CWLCursors(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("cwl://%s: cursors: %w", group, err)
	}
	st := NewState()
	maps.Copy(st.last, last)
	maps.Copy(st.seen, seen)
	return st, nil
}

// Cursor returns a stream's cursor (ms) and whether it has one.
func (st *State) Cursor(stream string) (int64, bool) {
	c, ok := st.last[stream]
	return c, ok
}

// Seen returns how many event ids the state keeps for dedupe.
func (st *State) Seen() int {
	n := 0
	for _, ids := range st.seen {
		n += len(ids)
	}
	return n
}

// newest returns the newest cursor of the streams under prefix.
func (st *State) newest(prefix string) (int64, bool) {
	var h int64
	ok := false
	for s, c := range st.last {
		if strings.HasPrefix(s, prefix) && (!ok || c > h) {
			h, ok = c, true
		}
	}
	return h, ok
}

// Batch is a run of new events, in event-time order, with the cursor
// changes that account for them. The caller stores the events' records and
// the changes (Save) in one transaction.
type Batch struct {
	// Target is the group (and prefix) read.
	Target Target
	// Events are the new events.
	Events []Event
	// Cursors is the new cursor of each stream with events in the batch.
	Cursors map[string]int64
	// Added holds the ids to keep for dedupe (stream -> id -> timestamp).
	Added map[string]map[string]int64
	// KeepFrom is, per stream in Cursors, the oldest timestamp whose ids
	// are kept (cursor minus look-back).
	KeepFrom map[string]int64

	bytes int
}

// Save writes the batch's cursor changes through w (an ingest
// transaction, so they commit with the rows).
func (b *Batch) Save(ctx context.Context, w CursorWriter) error {
	if err := w.SaveCWLCursors(ctx, b.Target.Group, b.Cursors, b.Added, b.KeepFrom); err != nil {
		return fmt.Errorf("%s: save cursors: %w", b.Target.Name(), err)
	}
	return nil
}

// PollStats counts what one poll did.
type PollStats struct {
	ScanStats
	// Start is the startTime the poll read from (0: the beginning).
	Start int64
	// New counts the events handed over in batches; Batches the batches.
	New, Batches int64
	// Duplicates counts events skipped because their id was seen before
	// (the look-back window read again).
	Duplicates int64
	// BeforeCursor counts events skipped because they are older than
	// their stream's cursor minus the look-back: late beyond the
	// look-back, or read again with an explicit Since.
	BeforeCursor int64
}

// Add adds the counts of o to s (Start is left as it is).
func (s *PollStats) Add(o PollStats) {
	s.Requests += o.Requests
	s.Pages += o.Pages
	s.EmptyPages += o.EmptyPages
	s.Events += o.Events
	s.New += o.New
	s.Batches += o.Batches
	s.Duplicates += o.Duplicates
	s.BeforeCursor += o.BeforeCursor
}

// Poll reads the events new to st and hands them to fn in batches of at
// most Config.BatchEvents events. fn must commit the batch's records and
// its cursor changes (Batch.Save) together; when it returns nil the
// changes are applied to st too. After an error st must not be used
// again: load it anew from the store.
//
// The poll reads from Config.Since on the first poll of a state (if set),
// else from the newest cursor of the streams under the prefix minus the
// look-back, else from the beginning; up to Config.Until.
func (s *Source) Poll(ctx context.Context, st *State, fn func(ctx context.Context, b *Batch) error) (PollStats, error) {
	var ps PollStats
	lookback := s.cfg.Lookback.Milliseconds()
	start, end := s.timeRange()
	if h, ok := st.newest(s.target.Prefix); ok && (start == nil || st.polls > 0) {
		from := max(h-lookback, 0)
		if start == nil || from > *start {
			start = aws.Int64(from)
		}
	}
	st.polls++
	if start != nil {
		ps.Start = *start
	}
	b := s.newBatch()
	pending := map[string]bool{}
	flush := func() error {
		if len(b.Events) == 0 {
			return nil
		}
		for i := range b.Events {
			e := &b.Events[i]
			c, ok := b.Cursors[e.Stream]
			if !ok {
				c = st.last[e.Stream]
			}
			b.Cursors[e.Stream] = max(c, e.Timestamp)
		}
		for stream, c := range b.Cursors {
			b.KeepFrom[stream] = c - lookback
		}
		for i := range b.Events {
			e := &b.Events[i]
			if e.Timestamp >= b.KeepFrom[e.Stream] {
				ids := b.Added[e.Stream]
				if ids == nil {
					ids = map[string]int64{}
					b.Added[e.Stream] = ids
				}
				ids[e.ID] = e.Timestamp
			}
		}
		if err := fn(ctx, b); err != nil {
			return err
		}
		st.apply(b)
		ps.New += int64(len(b.Events))
		ps.Batches++
		b = s.newBatch()
		clear(pending)
		return nil
	}
	err := s.scan(ctx, start, end, &ps.ScanStats, func(evs []types.FilteredLogEvent) error {
		for i := range evs {
			e := eventOf(&evs[i])
			if c, ok := st.last[e.Stream]; ok && e.Timestamp < c-lookback {
				ps.BeforeCursor++
				continue
			}
			if _, dup := st.seen[e.Stream][e.ID]; dup || pending[e.ID] {
				ps.Duplicates++
				continue
			}
			pending[e.ID] = true
			b.Events = append(b.Events, e)
			b.bytes += len(e.Message) + 1
			if len(b.Events) >= s.cfg.BatchEvents || b.bytes >= s.cfg.BatchBytes {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return ps, err
	}
	return ps, flush()
}

func (s *Source) newBatch() *Batch {
	return &Batch{Target: s.target, Cursors: map[string]int64{}, Added: map[string]map[string]int64{},
		KeepFrom: map[string]int64{}}
}

// apply records a committed batch.
func (st *State) apply(b *Batch) {
	for stream, c := range b.Cursors {
		st.last[stream] = c
		ids := st.seen[stream]
		if ids == nil {
			ids = map[string]int64{}
			st.seen[stream] = ids
		}
		keep := b.KeepFrom[stream]
		for id, ts := range ids {
			if ts < keep {
				delete(ids, id)
			}
		}
		for id, ts := range b.Added[stream] {
			ids[id] = ts
		}
	}
}

// Follow polls until ctx ends, pausing Config.PollInterval between polls;
// each poll's batches are committed by fn as in Poll. after, when set, is
// called after every poll. It returns nil when ctx ends, and the first
// error of a poll otherwise.
func (s *Source) Follow(ctx context.Context, st *State, fn func(ctx context.Context, b *Batch) error, after func(PollStats)) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		ps, err := s.Poll(ctx, st, fn)
		if after != nil {
			after(ps)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		t.Reset(s.cfg.PollInterval)
	}
}
