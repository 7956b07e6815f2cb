//go:build !unix

package trust

import "io/fs"

// noFollow is 0 where open has no such flag; OpenFile's Lstat check after
// a failed open, and CheckFile on the open file, remain.
const noFollow = 0

// fileOwner reports that the platform has no unix owner to check.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
