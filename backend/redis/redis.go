// Package redis is the Redis backend of joblot (Redis ≥ 7.0, standalone,
// Sentinel or Cluster). It implements backend.Backend with one Lua script per
// state transition (lua/*.lua); every script call touches the keys of one
// queue or of one batch, which share a hash tag (the key layout is package
// internal/rediskeys), so it runs unchanged on Redis Cluster.
//
// Acking a batch job is two single-slot steps: the batch transition first
// (its result decides whether a retry or dead entry may be written), then
// the queue-side write. A crash between the two re-runs the job, which then
// counts once because the transition is idempotent.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
	"github.com/joblot/joblot/internal/keyspace"
	"github.com/joblot/joblot/internal/rediskeys"
)

// Options configure Open.
type Options struct {
	// URL addresses Redis:
	//   redis://[user:password@]host:port[/db]     plain TCP
	//   rediss://[user:password@]host:port[/db]    TLS
	//   redis-sentinel://[user:password@]host:port[,host:port...]/mastername[?db=N]
	// For Cluster, give one node and add ?addr=host:port for more seeds; the
	// client discovers the cluster itself. Any form may add ?prefix=NAME,
	// the key prefix (see Prefix).
	URL string
	// Prefix starts the name of every key the backend writes (default
	// DefaultPrefix, "jl"), so that several applications can share one
	// Redis or Cluster (which has no SELECT): each sees only the queues,
	// jobs, batches and processes of its own prefix. 1 to 64 ASCII letters,
	// digits, '_', '.' and '-'; anything else is refused with an error
	// wrapping ErrBadPrefix. The URL's ?prefix= may give it instead; both
	// given must agree. Every process and tool of one application must
	// use the same prefix.
	Prefix string
	// Limits are the dead set caps and stats retention (zero fields take
	// the defaults).
	Limits backend.Limits
	// AllowEviction starts even if maxmemory-policy is not noeviction. An
	// evicting Redis silently loses jobs; Open logs a loud warning.
	AllowEviction bool
	// Logger receives warnings (default slog.Default()).
	Logger *slog.Logger
	// ClientOptions, if set, may tune the rueidis client options before the
	// clients are created.
	ClientOptions func(*rueidis.ClientOption)
	// Now is the clock of the backend's time-dependent writes: acks' day
	// counters and dead-set times, batch timestamps and deadlines, process
	// lease expiries (judged by RecoverOrphans against the caller's now),
	// whether an enqueued job is due. It defaults to time.Now; tests and
	// simulations set it, to the clock they give the server and client.
	// TTLs Redis enforces itself (the duties lease, dedupe keys, stats
	// days, expiring batches and process info) run on Redis's clock.
	Now func() time.Time
}

// Backend is the Redis implementation of backend.Backend. It is safe for
// concurrent use.
type Backend struct {
	c  rueidis.Client // auto-pipelined client for everything else
	hb rueidis.Client // a second client (own connection) for heartbeats and leases
	s  *scripts
	// keys names every key (the layout of one prefix).
	keys rediskeys.Layout
	// qkeys holds the names of the queues' keys that every enqueue, fetch
	// and acknowledgement uses (queuekeys.go).
	qkeys *keyCache

	limits backend.Limits
	log    *slog.Logger
	now    func() time.Time // Options.Now

	// knownQueues holds the queues already in the queues set. A map
	// under a lock rather than a sync.Map: its string keys would be boxed
	// on every lookup, one allocation per fetch.
	knownMu     sync.RWMutex
	knownQueues map[string]struct{}

	mu         sync.Mutex
	registered map[string]procMark // process ids that have heartbeated: when their info was last written, and whether it says quiet

	// hook, when set (tests), sees every script call's name and keys.
	hook func(name string, keys []string)
}

var _ backend.Backend = (*Backend)(nil)

// The connections' keep-alive interval (a PING after this long without a
// reply) and the write timeout that declares a connection dead. rueidis's
// defaults are 1 s and 10 s.
const (
	keepAlive    = 5 * time.Second
	writeTimeout = 10 * time.Second
)

// Open connects to Redis, checks that it is safe to use (maxmemory-policy
// noeviction unless opts.AllowEviction) and that its data model is not newer
// than this code's, and records the data-model version if the store is new.
func Open(ctx context.Context, opts Options) (*Backend, error) {
	copt, err := ParseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	copt.DisableCache = true
	// A PING per idle second and connection is most of what an idle
	// process would cost Redis; servers poll more often than this anyway.
	copt.Dialer.KeepAlive = keepAlive
	copt.ConnWriteTimeout = writeTimeout
	if opts.ClientOptions != nil {
		opts.ClientOptions(&copt)
	}
	keys, err := layoutOf(opts.URL, opts.Prefix)
	if err != nil {
		return nil, err
	}
	c, err := rueidis.NewClient(copt)
	if err != nil {
		return nil, fmt.Errorf("joblot/redis: connect: %w", err)
	}
	hbOpt := copt
	hbOpt.PipelineMultiplex = -1 // one connection is plenty for heartbeats
	hb, err := rueidis.NewClient(hbOpt)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("joblot/redis: connect heartbeat client: %w", err)
	}
	b := &Backend{
		c:           c,
		hb:          hb,
		s:           newScripts(),
		keys:        keys,
		qkeys:       newKeyCache(keys),
		limits:      opts.Limits.WithDefaults(),
		log:         opts.Logger,
		now:         clock.Or(opts.Now),
		registered:  map[string]procMark{},
		knownQueues: map[string]struct{}{},
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if err := b.checkEviction(ctx, opts.AllowEviction); err != nil {
		b.Close()
		return nil, err
	}
	if err := b.checkVersion(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// checkEviction reads maxmemory-policy on every node the client knows: on
// a Cluster a keyless command reaches one arbitrary node, and any evicting
// master silently loses the jobs of the slots it serves.
func (b *Backend) checkEviction(ctx context.Context, allow bool) error {
	nodes := b.c.Nodes()
	addrs := make([]string, 0, len(nodes))
	for addr := range nodes {
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs) // a stable order for messages
	for _, addr := range addrs {
		c := nodes[addr]
		vals, err := c.Do(ctx, c.B().ConfigGet().Parameter("maxmemory-policy").Build()).AsStrMap()
		if err != nil {
			// Managed services may forbid CONFIG; say so, do not refuse.
			b.log.Warn("joblot: cannot read maxmemory-policy; make sure it is noeviction", "node", addr, "err", err)
			continue
		}
		policy := vals["maxmemory-policy"]
		if policy == "" || policy == "noeviction" {
			continue
		}
		if !allow {
			return fmt.Errorf("joblot/redis: maxmemory-policy is %q on %s: %w (set it to noeviction, or allow eviction explicitly)", policy, addr, backend.ErrUnsafeEviction)
		}
		b.log.Warn("joblot: REDIS MAY EVICT KEYS: maxmemory-policy is not noeviction; jobs and batch state can be silently lost", "node", addr, "maxmemory-policy", policy)
	}
	return nil
}

// checkVersion refuses a newer data model and records this one in a store
// that has none.
func (b *Backend) checkVersion(ctx context.Context) error {
	n, ok, err := readVersion(ctx, b.c, b.keys)
	if err != nil {
		return err
	}
	if !ok {
		err := b.c.Do(ctx, b.c.B().Set().Key(b.keys.Version()).Value(strconv.Itoa(backend.DataModelVersion)).Nx().Build()).Error()
		if err != nil && !rueidis.IsRedisNil(err) {
			if isOOM(err) {
				b.log.Warn("joblot: cannot record the data-model version: redis is full", "err", err)
				return nil
			}
			return fmt.Errorf("joblot/redis: write %s: %w", b.keys.Version(), err)
		}
		return b.checkVersion(ctx) // someone may have raced us with another value
	}
	return tooNew(n)
}

// readVersion reads the data-model version of layout keys; ok is false
// when none is recorded.
func readVersion(ctx context.Context, c rueidis.Client, keys rediskeys.Layout) (v int, ok bool, err error) {
	s, err := c.Do(ctx, c.B().Get().Key(keys.Version()).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("joblot/redis: read %s: %w", keys.Version(), err)
	}
	v, err = strconv.Atoi(s)
	if err != nil {
		return 0, false, fmt.Errorf("joblot/redis: %s holds %q, not a version number", keys.Version(), s)
	}
	return v, true, nil
}

// tooNew refuses data model n if this code does not know it.
func tooNew(n int) error {
	if n > backend.DataModelVersion {
		return fmt.Errorf("joblot/redis: store has data model %d, this joblot knows %d: %w", n, backend.DataModelVersion, backend.ErrVersionTooNew)
	}
	return nil
}

// CheckVersion refuses, with an error wrapping backend.ErrVersionTooNew, a
// Redis whose joblot data under key prefix prefix ("" for DefaultPrefix)
// was written by a newer data model, for tools that work on a client of
// their own (cleaning keys of a layout this code does not know could
// remove live data). A Redis with no joblot data of that prefix passes;
// nothing is written. A bad prefix is an error wrapping ErrBadPrefix.
func CheckVersion(ctx context.Context, c rueidis.Client, prefix string) error {
	keys, err := newLayout(prefix)
	if err != nil {
		return err
	}
	n, _, err := readVersion(ctx, c, keys)
	if err != nil {
		return err
	}
	return tooNew(n)
}

// Close releases the connections.
func (b *Backend) Close() error {
	b.c.Close()
	b.hb.Close()
	return nil
}

// Client returns the underlying client (for the CLI's memory report and
// bench).
func (b *Backend) Client() rueidis.Client { return b.c }

// UsedMemory returns INFO memory used_memory, summed over a Cluster's
// masters: the figure for "how much did this cost", where Memory answers
// "how near is the limit".
func (b *Backend) UsedMemory(ctx context.Context) (int64, error) {
	mems, err := b.primariesMemory(ctx)
	var sum int64
	for _, m := range mems {
		sum += m.Used
	}
	return sum, err
}

// Memory implements backend.MemoryReporter: used_memory and maxmemory (0
// when unlimited) from INFO memory. On a Cluster every master (replicas do
// not enforce maxmemory, and hold copies) is asked and the one closest to
// its maxmemory is reported, since that node is the first to refuse
// writes; when no node has a limit, Used is their sum.
func (b *Backend) Memory(ctx context.Context) (backend.MemoryInfo, error) {
	mems, err := b.primariesMemory(ctx)
	if err != nil {
		return backend.MemoryInfo{}, err
	}
	var fullest, sum backend.MemoryInfo
	for _, m := range mems {
		sum.Used += m.Used
		if m.Limit > 0 && (fullest.Limit == 0 || float64(m.Used)/float64(m.Limit) > float64(fullest.Used)/float64(fullest.Limit)) {
			fullest = m
		}
	}
	if fullest.Limit > 0 {
		return fullest, nil
	}
	return sum, nil
}

// primariesMemory reads INFO memory on every primary (one for standalone
// and Sentinel, each master of a Cluster).
func (b *Backend) primariesMemory(ctx context.Context) ([]backend.MemoryInfo, error) {
	nodes, err := keyspace.Primaries(ctx, b.c)
	if err != nil {
		return nil, fmt.Errorf("joblot/redis: %w", err)
	}
	out := make([]backend.MemoryInfo, len(nodes))
	for i, n := range nodes {
		if out[i], err = nodeMemory(ctx, n.Client); err != nil {
			return nil, fmt.Errorf("%w (node %s)", err, n.Addr)
		}
	}
	return out, nil
}

// nodeMemory reads used_memory and maxmemory of one node.
func nodeMemory(ctx context.Context, c rueidis.Client) (backend.MemoryInfo, error) {
	info, err := c.Do(ctx, c.B().Info().Section("memory").Build()).ToString()
	if err != nil {
		return backend.MemoryInfo{}, fmt.Errorf("joblot/redis: INFO memory: %w", err)
	}
	var m backend.MemoryInfo
	seen := 0
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (k != "used_memory" && k != "maxmemory") {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return backend.MemoryInfo{}, fmt.Errorf("joblot/redis: INFO memory %s: %w", k, err)
		}
		if k == "used_memory" {
			m.Used = n
		} else {
			m.Limit = n
		}
		seen++
	}
	if seen != 2 {
		return backend.MemoryInfo{}, errors.New("joblot/redis: INFO memory lacks used_memory or maxmemory")
	}
	return m, nil
}

// isOOM reports whether err is Redis refusing a write at maxmemory.
func isOOM(err error) bool {
	var re *rueidis.RedisError
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "OOM")
}

// wrap adds context to a Redis error and maps OOM to backend.ErrStoreFull.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if isOOM(err) {
		return fmt.Errorf("joblot/redis: %s: %w: %v", op, backend.ErrStoreFull, err)
	}
	return fmt.Errorf("joblot/redis: %s: %w", op, err)
}

// ms is t in unix milliseconds as a Redis argument.
func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// itoa formats an integer argument.
func itoa[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }

// rememberQueues returns the queues of qs not yet known to this process,
// marking them known; the caller SADDs them to the queues set.
func (b *Backend) newQueues(qs []string) []string {
	b.knownMu.RLock()
	all := true
	for _, q := range qs {
		if _, seen := b.knownQueues[q]; !seen {
			all = false
			break
		}
	}
	b.knownMu.RUnlock()
	if all {
		return nil
	}
	var out []string
	b.knownMu.Lock()
	defer b.knownMu.Unlock()
	for _, q := range qs {
		if _, seen := b.knownQueues[q]; !seen {
			b.knownQueues[q] = struct{}{}
			out = append(out, q)
		}
	}
	return out
}

// forgetQueues undoes newQueues after a failed SADD.
func (b *Backend) forgetQueues(qs []string) {
	b.knownMu.Lock()
	defer b.knownMu.Unlock()
	for _, q := range qs {
		delete(b.knownQueues, q)
	}
}
