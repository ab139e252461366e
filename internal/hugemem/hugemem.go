// Package hugemem allocates large working arrays (hash tables, aggregation
// groups, read buffers) that the kernel may back with transparent huge
// pages. The hint changes no contents, so any element type will do.
//
// Where transparent huge pages are enabled only on request (the "madvise"
// setting, the common default), a large table is faulted in 4 KiB at a
// time, and on virtual machines each of those first touches can cost
// microseconds: for an aggregation of a few hundred thousand groups that is
// a large share of the run. One 2 MiB fault instead of 512 also spares the
// TLB misses of the random access that hash tables make.
package hugemem

import (
	"runtime"
	"unsafe"
)

// MinBytes is the smallest allocation worth a huge-page hint.
const MinBytes = 1 << 20

// Make returns a zeroed slice of n elements, hinted for huge pages when it
// is at least MinBytes.
func Make[T any](n int) []T {
	s := make([]T, n)
	_ = Advise(s)
	return s
}

// Advise hints that s, and the 2 MiB pages it overlaps, be backed by huge
// pages from their first touch. Pages already touched are left as they are.
// It is only a hint: it changes no contents, and the error (from a kernel
// without transparent huge pages, say) needs no action.
func Advise[T any](s []T) error {
	var zero T
	size := uintptr(len(s)) * unsafe.Sizeof(zero)
	if size < MinBytes {
		return nil
	}
	err := advise(uintptr(unsafe.Pointer(unsafe.SliceData(s))), size)
	runtime.KeepAlive(s)
	return err
}
