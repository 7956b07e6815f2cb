//go:build unix

package trust

import (
	"io/fs"
	"syscall"
)

// noFollow makes open fail on a symbolic link as the last path element.
const noFollow = syscall.O_NOFOLLOW

// fileOwner returns fi's owner uid.
func fileOwner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
