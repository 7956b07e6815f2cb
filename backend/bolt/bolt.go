// Package bolt is the embedded backend of joblot: one bbolt file on one
// machine, durable (every write is fsync'd before it returns) and owned by
// exactly one process. It implements backend.Backend with the same
// semantics as the Redis backend and passes the same conformance suite
// (backend/backendtest).
//
// Writes go through a group-commit loop (commit.go): concurrent calls are
// merged into one read-write transaction and one fsync, so durability does
// not cost throughput. Reads (Stats, ListJobs, BatchStatus, ...) run in
// read-only transactions concurrently with the writer.
//
// Crash recovery: the file is exclusively locked, so when Open succeeds no
// other process can hold in-flight jobs. Open itself therefore puts every
// in-flight job left by a previous run back at the head of its queue
// (incrementing Job.Recoveries, poison pill at backend.MaxRecoveries) and
// forgets the previous run's processes. RecoverOrphans handles processes
// of the current run whose lease expired.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
	"github.com/joblot/joblot/internal/trust"
)

// Options configure Open.
type Options struct {
	// Limits are the dead set caps and stats retention (zero fields take
	// the defaults).
	Limits backend.Limits
	// Logger receives warnings (default slog.Default()).
	Logger *slog.Logger
	// LockTimeout is how long Open waits for the file lock before failing
	// with an error wrapping backend.ErrLocked (default 1s).
	LockTimeout time.Duration
	// NoSync skips fsync on commit. For tests and benchmarks only: a crash
	// of the machine may then lose or corrupt recent writes.
	NoSync bool
	// NoLocalEndpoint disables the local endpoint. By default the process
	// that owns the file serves the Backend over a unix socket next to it
	// (path + ".sock", see package backend/remote), so that the CLI works
	// while it runs; nobody else can open the file.
	NoLocalEndpoint bool
	// AllowOwner names one more user (a login name or a numeric uid) whose
	// store file Open accepts, besides the process's own effective uid.
	// Default "": Open refuses a file owned by any other user, since that
	// user could write the jobs this process runs.
	AllowOwner string
	// Now is the clock of the backend's time-dependent writes and checks:
	// each write transaction's now (stored timestamps, day counters,
	// whether an enqueued job is due, dedupe windows, batch deadlines) and
	// process lease expiries, which RecoverOrphans judges against the
	// caller's now. It defaults to time.Now; tests and simulations set it,
	// to the clock they give the server and client. The duties lease
	// (Lease) stays on the wall clock, as Redis's does on Redis's clock.
	Now func() time.Time
}

// DefaultLockTimeout is Options.LockTimeout's default.
const DefaultLockTimeout = time.Second

// Backend is the bbolt implementation of backend.Backend. It is safe for
// concurrent use.
type Backend struct {
	db     *bbolt.DB
	path   string
	limits backend.Limits
	log    *slog.Logger
	now    func() time.Time // Options.Now

	ops     chan *op      // write requests for the commit loop
	stop    chan struct{} // closed by Close
	stopped chan struct{} // closed when the commit loop has exited
	closeMu sync.Once

	// endpoint is the local endpoint's cancel func and done channel (nil
	// when disabled or unavailable).
	endpointStop func()
	endpointDone chan struct{}

	mu         sync.Mutex
	registered map[string]bool // process ids that have heartbeated through this Backend
	procs      map[string]*procState
	leases     map[string]*leaseState

	bell *bell // rung after a commit that put jobs into a queue

	commits commitCounters // CommitStats

	cancels cancelListeners // ListenCancels' callbacks
}

var _ backend.Backend = (*Backend)(nil)

// Open opens (creating if needed) the store file at path, takes its
// exclusive lock, checks its data-model version, and recovers the in-flight
// jobs a previous run left behind (see the package doc).
//
// Open refuses a file another local user could have planted or could
// change, with an error wrapping backend.ErrUntrusted: a symbolic link in
// place of the file (backend.ErrSymlink), a file its group or others may
// write (backend.ErrWritableByOthers), or one owned by another user than
// the process's own or Options.AllowOwner (backend.ErrForeignOwner).
func Open(path string, opts Options) (*Backend, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	owners, err := trust.New(opts.AllowOwner)
	if err != nil {
		return nil, fmt.Errorf("joblot/bolt: open %s: %w", path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: timeout,
		// The freelist is rebuilt by scanning at open instead of being
		// written on every commit: one page write less per transaction.
		NoFreelistSync: true,
		FreelistType:   bbolt.FreelistMapType,
		NoSync:         opts.NoSync,
		// The file is checked on the descriptor bbolt then locks and maps.
		OpenFile: owners.OpenFile,
	})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("joblot/bolt: open %s: %w (waited %v); the embedded store serves one process on one machine: use Redis to run several processes or machines", path, backend.ErrLocked, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("joblot/bolt: open %s: %w", path, err)
	}
	b := &Backend{
		db:         db,
		path:       path,
		limits:     opts.Limits.WithDefaults(),
		log:        opts.Logger,
		now:        clock.Or(opts.Now),
		ops:        make(chan *op, 1024),
		stop:       make(chan struct{}),
		stopped:    make(chan struct{}),
		registered: map[string]bool{},
		procs:      map[string]*procState{},
		leases:     map[string]*leaseState{},
		bell:       newBell(),
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if err := b.checkVersion(); err != nil {
		db.Close()
		return nil, err
	}
	go b.commitLoop()
	n, err := b.recoverAll(context.Background())
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("joblot/bolt: recover in-flight jobs of the previous run: %w", err)
	}
	if n > 0 {
		b.log.Warn("joblot: recovered in-flight jobs of the previous run", "jobs", n, "path", path)
	}
	if !opts.NoLocalEndpoint {
		b.serveLocal()
	}
	return b, nil
}

// checkVersion refuses a store written by a newer data model. The version
// record itself is written with the first write transaction (see txc.flush).
func (b *Backend) checkVersion() error {
	n, err := readVersion(b.db)
	if err != nil {
		return err
	}
	if n > backend.DataModelVersion {
		return fmt.Errorf("joblot/bolt: %s has data model %d, this joblot knows %d: %w", b.path, n, backend.DataModelVersion, backend.ErrVersionTooNew)
	}
	return nil
}

// Close stops the commit loop (pending writes finish first) and closes the
// file, releasing its lock.
func (b *Backend) Close() error {
	var err error
	b.closeMu.Do(func() {
		if b.endpointStop != nil {
			b.endpointStop()
			<-b.endpointDone
		}
		close(b.stop)
		<-b.stopped
		err = b.db.Close()
	})
	return err
}

// Path returns the store file's path.
func (b *Backend) Path() string { return b.path }

// FileSize returns the store file's size in bytes.
func (b *Backend) FileSize() (int64, error) {
	fi, err := os.Stat(b.path)
	if err != nil {
		return 0, fmt.Errorf("joblot/bolt: %w", err)
	}
	return fi.Size(), nil
}

// DB returns the underlying bbolt database (for the CLI's inspector and
// tests). Writing to it directly bypasses every invariant of this package.
func (b *Backend) DB() *bbolt.DB { return b.db }

// wrapErr adds context and maps a full disk to backend.ErrStoreFull.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("joblot/bolt: %s: %w: %v", op, backend.ErrStoreFull, err)
	}
	return fmt.Errorf("joblot/bolt: %s: %w", op, err)
}
