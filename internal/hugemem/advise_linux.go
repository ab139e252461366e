package hugemem

import "golang.org/x/sys/unix"

const hugePage = 2 << 20

// advise rounds [p, p+size) out to whole huge pages: the kernel uses a huge
// page only where all of its 2 MiB are marked. The neighbours sharing those
// pages belong to the same heap mapping, and the hint does them no harm.
func advise(p, size uintptr) error {
	start := p &^ (hugePage - 1)
	end := (p + size + hugePage - 1) &^ (hugePage - 1)
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_HUGEPAGE); e != 0 {
		return e
	}
	return nil
}
