package duckdb

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/flowlens/flowlens/store"
)

// lockFile is the flock held on "<db>.lock" for a store's lifetime.
type lockFile struct {
	f      *os.File
	writer bool
}

// lockPath returns the lock file of the database at path.
func lockPath(path string) string { return path + ".lock" }

// acquireLock takes the exclusive (writer) or shared (reader) lock of the
// database at path without waiting. A writer writes its PID into the file.
func acquireLock(path string, readOnly bool) (*lockFile, error) {
	lp := lockPath(path)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil && readOnly {
		// A reader may lack write permission on the directory.
		f, err = os.Open(lp)
	}
	if err != nil {
		return nil, fmt.Errorf("duckdb: lock %s: %w", lp, err)
	}
	how := unix.LOCK_EX
	if readOnly {
		how = unix.LOCK_SH
	}
	if err := flock(f, how|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, lockedError(f, path)
		}
		return nil, fmt.Errorf("duckdb: lock %s: %w", lp, err)
	}
	lk := &lockFile{f: f, writer: !readOnly}
	if lk.writer {
		if err := writePID(f); err != nil {
			lk.release()
			return nil, fmt.Errorf("duckdb: lock %s: %w", lp, err)
		}
	}
	return lk, nil
}

// flock retries flock on EINTR.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// lockedError describes who holds the lock: the writer whose PID is in the
// file, or readers (a writer clears the PID when it closes; a PID whose
// process is gone is stale, left by a writer that was killed).
func lockedError(f *os.File, path string) error {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 || !alive(pid) {
		return &store.LockedError{Path: path, ReadOnly: true}
	}
	return &store.LockedError{PID: pid, Path: path}
}

// alive reports whether a process with this PID exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// release clears the writer's PID and drops the lock.
func (l *lockFile) release() {
	if l == nil || l.f == nil {
		return
	}
	if l.writer {
		_ = l.f.Truncate(0)
	}
	_ = flock(l.f, unix.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}
