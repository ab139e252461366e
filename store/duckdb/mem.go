package duckdb

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// physicalMemory returns the memory available to this process: the
// machine's RAM, or the cgroup limit when one is set and lower.
func physicalMemory() int64 {
	var total int64
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		total = int64(si.Totalram) * int64(si.Unit)
	}
	if lim := cgroupLimit(); lim > 0 && (total == 0 || lim < total) {
		total = lim
	}
	if total <= 0 {
		total = 4 << 30 // unknown: assume a small machine
	}
	return total
}

// cgroupLimit reads the cgroup v2 (or v1) memory limit; 0 means none.
func cgroupLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || v <= 0 || v >= 1<<60 {
			continue // "max" or the v1 "unlimited" sentinel
		}
		return v
	}
	return 0
}
