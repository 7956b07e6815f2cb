// Package trust decides whether a store file or a local endpoint belongs to
// a user this process trusts: its own, or one the operator named
// explicitly. A file or socket that another local user planted, owns or may
// write is refused with an error wrapping one of backend.ErrSymlink,
// backend.ErrWritableByOthers or backend.ErrForeignOwner.
package trust

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"github.com/joblot/joblot/backend"
)

// allowHint tells the operator how to trust another user on purpose.
const allowHint = "if that user is trusted, allow it explicitly (joblot --allow-owner, or the AllowOwner option)"

// Policy is the set of user ids whose files and endpoints a process
// trusts. The zero Policy trusts nobody.
type Policy struct {
	uids []int
}

// Self trusts the process's own effective uid only.
func Self() Policy { return Policy{uids: []int{os.Geteuid()}} }

// ForUIDs trusts exactly uids.
func ForUIDs(uids ...int) Policy { return Policy{uids: slices.Clone(uids)} }

// New trusts the process's own effective uid and, when allowOwner is not
// empty, that user too: a login name or a numeric uid.
func New(allowOwner string) (Policy, error) {
	p := Self()
	if allowOwner == "" {
		return p, nil
	}
	uid, err := lookupUID(allowOwner)
	if err != nil {
		return Policy{}, err
	}
	if !p.Allows(uid) {
		p.uids = append(p.uids, uid)
	}
	return p, nil
}

// lookupUID resolves a login name or a numeric uid.
func lookupUID(name string) (int, error) {
	if uid, err := strconv.Atoi(name); err == nil && uid >= 0 {
		return uid, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("joblot: allowed owner %q: %w", name, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 0, fmt.Errorf("joblot: allowed owner %q has uid %q, which is not numeric: %w", name, u.Uid, errors.ErrUnsupported)
	}
	return uid, nil
}

// Allows reports whether uid is trusted.
func (p Policy) Allows(uid int) bool { return slices.Contains(p.uids, uid) }

// String lists the trusted uids, for messages ("uid 0", "uid 1000 or 0").
func (p Policy) String() string {
	if len(p.uids) == 0 {
		return "no uid"
	}
	s := make([]string, len(p.uids))
	for i, u := range p.uids {
		s[i] = strconv.Itoa(u)
	}
	return "uid " + strings.Join(s, " or ")
}

// CheckFile refuses path, whose FileInfo fi comes from Lstat or from the
// open file's Stat, when it is a symbolic link, when its group or others
// may write it, or when its owner is not trusted. Where the platform has no
// unix owner and mode bits, only the symlink check applies.
func (p Policy) CheckFile(path string, fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("joblot: %s is a symbolic link, which joblot never follows: %w", path, backend.ErrSymlink)
	}
	uid, ok := fileOwner(fi)
	if !ok {
		return nil
	}
	if !p.Allows(uid) {
		return fmt.Errorf("joblot: %s is owned by uid %d, not by %s: %w; %s", path, uid, p, backend.ErrForeignOwner, allowHint)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("joblot: %s has mode %v: its group or other users may write it (chmod go-w to fix): %w", path, perm, backend.ErrWritableByOthers)
	}
	return nil
}

// OpenFile is os.OpenFile that never follows a symbolic link as the last
// element of name and refuses a file that p does not trust (CheckFile). The
// check is made on the open file, so nothing can be swapped in between.
func (p Policy) OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(name, flag|noFollow, perm)
	if err != nil {
		if fi, lerr := os.Lstat(name); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("joblot: %s is a symbolic link, which joblot never follows: %w", name, backend.ErrSymlink)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = p.CheckFile(name, fi)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// CheckPeer refuses a connection to (or from) a process whose user p does
// not trust. Where the platform cannot tell a unix socket's peer, it
// accepts; callers check the socket file's owner (CheckFile) as well.
func (p Policy) CheckPeer(c net.Conn, path string) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("joblot: %s: not a unix socket connection: %w", path, backend.ErrUntrusted)
	}
	uid, known, err := peerUID(uc)
	if err != nil {
		return fmt.Errorf("joblot: %s: read the peer's credentials: %w", path, err)
	}
	if known && !p.Allows(uid) {
		return fmt.Errorf("joblot: the process at the other end of %s runs as uid %d, not %s: %w; %s", path, uid, p, backend.ErrForeignOwner, allowHint)
	}
	return nil
}
