// Package store defines what an analytic store of flow records offers the
// rest of flowlens: exactly-once bulk ingest of parsed batches tied to the
// source object they came from, and SQL queries over the `flows` table.
//
// Implementations (store/duckdb, later ClickHouse) own their SQL dialect:
// table DDL, ledger statements and the bulk-load path live behind the Store
// interface. The layout of the `flows` table is declared once, dialect
// neutrally, by Columns.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flowlens/flowlens/flowlog"
)

// Object identifies one source object (a file, an S3 object) whose records
// are ingested together. Two Objects with the same ID but a different
// identity (any of Size, MTime, ETag, Hash differing) are two versions of the
// same object: ingesting the newer one replaces the rows of the older.
type Object struct {
	// ID names the object: an absolute file path, or s3://bucket/key. It is
	// stored in every row's `source` column and keys the ingest ledger.
	ID string
	// Size is the object's stored size in bytes.
	Size int64
	// MTime is the file's modification time (zero when unknown, e.g. S3).
	MTime time.Time
	// ETag is the S3 entity tag (empty for files).
	ETag string
	// Hash is an optional content hash; when callers set it they must set it
	// consistently, because it takes part in the identity.
	Hash string
}

// SameVersion reports whether o and p name the same version of an object.
func (o Object) SameVersion(p Object) bool {
	return o.ID == p.ID && o.Size == p.Size && o.MTime.Equal(p.MTime) && o.ETag == p.ETag && o.Hash == p.Hash
}

// Status is what the ledger knows about an object.
type Status uint8

// Ledger states of an object.
const (
	// StatusNew: the object was never ingested.
	StatusNew Status = iota
	// StatusUnchanged: this very version was ingested; skip it.
	StatusUnchanged
	// StatusChanged: another version was ingested; ingesting this one
	// replaces its rows.
	StatusChanged
)

func (s Status) String() string {
	switch s {
	case StatusNew:
		return "new"
	case StatusUnchanged:
		return "unchanged"
	case StatusChanged:
		return "changed"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Result is what reading one object produced, recorded in the ledger.
type Result struct {
	// Records is the number of rows appended for the object.
	Records int64
	// Bad is the number of records rejected by the parser.
	Bad int64
}

// LedgerEntry is one committed ingest of an object.
type LedgerEntry struct {
	Object
	Result
	// IngestedAt is when the ingest transaction began.
	IngestedAt time.Time
}

// Store is an analytic store of flow records.
//
// A Store is safe for concurrent use by several goroutines, except that a
// Tx and a Rows belong to the goroutine that uses them. Close must be called
// once every Tx has been committed or rolled back and every Rows closed.
type Store interface {
	// Dialect names the SQL dialect Query accepts ("duckdb", "clickhouse"),
	// for the callers that generate SQL (filter language, named queries).
	Dialect() string
	// Check looks the object up in the committed ledger, so that callers can
	// skip an unchanged object before reading it.
	Check(ctx context.Context, obj Object) (Status, error)
	// CheckMany is Check for many objects at once (one status per object,
	// in order), for runs over thousands of small inputs.
	CheckMany(ctx context.Context, objs []Object) ([]Status, error)
	// Ledger lists the committed ledger in ID order.
	Ledger(ctx context.Context) ([]LedgerEntry, error)
	// Begin starts an ingest transaction. A store may allow only one at a
	// time; Begin then waits for the previous one to end or ctx to be done.
	Begin(ctx context.Context) (Tx, error)
	// Query runs a query and streams its rows. Arguments are bound as
	// parameters, never pasted into the text.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// Close releases the store (and its lock). It does not commit anything.
	Close() error
}

// PairTotals is implemented by stores that keep, up to date with every
// ingest, the flows, packets and bytes of each srcaddr,dstaddr pair over
// all stored rows, so that whole-store top talkers need not scan the rows.
type PairTotals interface {
	// PairTotals names the table of totals, with columns srcaddr, dstaddr,
	// flows, packets and bytes (NULL packets and bytes counted as 0). A
	// pair may have several rows, to be summed; pairs whose flows sum to 0
	// have no rows left. ok is false when the store does not keep them.
	PairTotals() (table string, ok bool)
}

// Tx is an ingest transaction: rows of one or more objects, committed
// atomically with their ledger entries. Nothing of a Tx is visible to
// readers, nor survives a crash, until Commit returns nil.
//
// Call sequence, for each object: BeginObject, Append (any number of times),
// EndObject. Then Commit, or Rollback to discard everything. After an error
// from any method the Tx can only be rolled back. Rollback after Commit is a
// no-op, so `defer tx.Rollback()` is the usual pattern.
type Tx interface {
	// BeginObject starts the rows of obj. Rows of an earlier version of the
	// object (any ledger entry with its ID) are deleted in this
	// transaction, so a changed object replaces its own rows. An object may
	// appear only once per Tx.
	BeginObject(ctx context.Context, obj Object) error
	// Append adds the rows of b to the current object. The store copies
	// what it keeps: b may be reused as soon as Append returns.
	Append(ctx context.Context, b *flowlog.Batch) error
	// EndObject ends the current object and records it in the ledger with
	// res.
	EndObject(ctx context.Context, res Result) error
	// AbortObject ends the current object without recording it: its rows
	// appended in this transaction are discarded and its ledger entry is
	// removed, so a later ingest reads it again. Callers use it for an
	// object that could not be read to its end (a corrupt or truncated
	// object); rows of an earlier version were already deleted by
	// BeginObject.
	AbortObject(ctx context.Context) error
	// Commit makes the rows and ledger entries durable and visible.
	Commit(ctx context.Context) error
	// Rollback discards the transaction.
	Rollback() error
}

// Rows is a streaming query result. It must be closed; values scanned are
// copies the caller owns.
//
// Values come back as nil (NULL), bool, int32, int64, float64, string,
// []byte, time.Time or driver-specific types for the rarer SQL types.
type Rows interface {
	// Columns describes the result columns.
	Columns() []ResultColumn
	// Next advances to the next row; it returns false at the end or on error.
	Next() bool
	// Scan copies the current row into dest, as database/sql's Rows.Scan.
	Scan(dest ...any) error
	// Err returns the error that ended the iteration, if any.
	Err() error
	// Close releases the result.
	Close() error
}

// ResultColumn describes one column of a query result.
type ResultColumn struct {
	// Name is the column's name.
	Name string
	// DatabaseType is the store's type name (e.g. BIGINT, VARCHAR).
	DatabaseType string
}

// LockedError says that another process holds the store.
type LockedError struct {
	// PID is the process holding the lock (0 when unknown, e.g. readers).
	PID int
	// Path is the store's path.
	Path string
	// ReadOnly is set when the holders are read-only processes.
	ReadOnly bool
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("store is locked by PID %d (%s)", e.PID, e.Path)
	}
	if e.ReadOnly {
		return fmt.Sprintf("store is in use by a read-only process (%s)", e.Path)
	}
	return fmt.Sprintf("store is locked by another process (%s)", e.Path)
}

// Is makes errors.Is(err, ErrLocked) true for lock errors.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// ErrLocked is matched by every *LockedError via errors.Is.
var ErrLocked = errors.New("store is locked")
