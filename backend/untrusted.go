package backend

import (
	"errors"
	"fmt"
)

// Errors for a store file or local endpoint that another local user could
// have planted or could change. Each of the specific ones wraps
// ErrUntrusted, so errors.Is(err, ErrUntrusted) holds for all of them.
var (
	// ErrUntrusted: joblot refuses a store file, socket or endpoint it
	// cannot trust (see the specific errors below).
	ErrUntrusted = errors.New("joblot: untrusted store file or endpoint")
	// ErrSymlink: a symbolic link in place of the store file or its
	// socket; joblot never follows one.
	ErrSymlink = fmt.Errorf("%w: a symbolic link", ErrUntrusted)
	// ErrWritableByOthers: a store file or socket that its group or other
	// users may write.
	ErrWritableByOthers = fmt.Errorf("%w: writable by group or others", ErrUntrusted)
	// ErrForeignOwner: a store file, socket or endpoint process that
	// belongs to another user than this process's own (and than the one
	// the operator explicitly allowed).
	ErrForeignOwner = fmt.Errorf("%w: owned by another user", ErrUntrusted)
)
