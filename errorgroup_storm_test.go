package joblot

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// stormShape builds one failure shape of the storm with fresh variable
// parts; kind is the job kind it fails in.
type stormShape struct {
	kind string
	make func(r *rand.Rand) error
}

// Sentinels the simulated workers wrap, as a payment SDK wrapper would.
var (
	errStormDeclined = errors.New("card declined")
	errStormQuota    = errors.New("quota exceeded")
)

// stormShapes are the nine failure shapes of the storm: real error values
// (wrapped sentinels, *net.OpError, *url.Error) with random ids, numbers,
// ips, uuids, emails, timestamps and durations in them.
func stormShapes() []stormShape {
	alnum := func(r *rand.Rand, n int, alphabet string) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	uuid := func(r *rand.Rand) string {
		const hexd = "0123456789abcdef"
		return alnum(r, 8, hexd) + "-" + alnum(r, 4, hexd) + "-4" + alnum(r, 3, hexd) + "-a" + alnum(r, 3, hexd) + "-" + alnum(r, 12, hexd)
	}
	ip := func(r *rand.Rand) string {
		return fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 1+r.IntN(254))
	}
	dur := func(r *rand.Rand) time.Duration {
		return time.Duration(r.Int64N(int64(90 * time.Second)))
	}
	return []stormShape{
		{"sync_items", func(r *rand.Rand) error {
			return fmt.Errorf("GET https://api.example.com/v1/items/%d?token=%d: status 501", r.IntN(100000), r.IntN(100000))
		}},
		{"charge", func(r *rand.Rand) error {
			return fmt.Errorf("charge ch_%016d: %w", r.IntN(1e9), errStormDeclined)
		}},
		{"sync_items", func(r *rand.Rand) error {
			addr := &net.TCPAddr{IP: net.ParseIP(ip(r)), Port: 1024 + r.IntN(60000)}
			return &net.OpError{Op: "dial", Net: "tcp", Addr: addr, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}},
		{"webhook", func(r *rand.Rand) error {
			u := fmt.Sprintf("http://127.0.0.1:%d/hooks/%d", 30000+r.IntN(30000), r.IntN(1000))
			return &url.Error{Op: "Post", URL: u, Err: fmt.Errorf("%w after %v", ErrJobTimeout, dur(r))}
		}},
		{"profile", func(r *rand.Rand) error {
			return fmt.Errorf("rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp %s:50051: connect: %w\"", ip(r), syscall.ECONNREFUSED)
		}},
		{"export", func(r *rand.Rand) error {
			return fmt.Errorf("operation error S3: GetObject, https response error StatusCode: 404, RequestID: %s, HostID: %s, NoSuchKey: ", alnum(r, 16, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"), alnum(r, 76, base62+"+/")+"=")
		}},
		{"export", func(r *rand.Rand) error {
			return fmt.Errorf("user %s <%s>: upload %dMB of %dMB: %w", uuid(r), alnum(r, 1+r.IntN(10), "abcdefghijklmnopqrstuvwxyz")+"@example.com", r.IntN(5000), r.IntN(5000), errStormQuota)
		}},
		{"profile", func(r *rand.Rand) error {
			return fmt.Errorf("No such customer: 'cus_%s'; request-id: req_%s", alnum(r, 14, base62), alnum(r, 14, base62))
		}},
		{"charge", func(r *rand.Rand) error {
			at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
			return fmt.Errorf("lock %q held by worker-%d since %s: retry in %v", fmt.Sprintf("batch:%d", r.IntN(1e6)), r.IntN(64), at.Format(time.RFC3339Nano), dur(r))
		}},
	}
}

// stormResult is what a storm of failures did to the error groups of one
// batch.
type stormResult struct {
	distinct int // distinct fingerprints
	other    int // failures beyond the first backend.MaxErrorGroups groups
}

// simulateStorm runs n failures of random shapes through errorClass and
// errorFingerprint, as Server.failure does, and counts the fingerprints and
// the failures a batch would count as "other".
func simulateStorm(n int, seed uint64) stormResult {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	shapes := stormShapes()
	all, kept := map[string]bool{}, map[string]bool{}
	var res stormResult
	for range n {
		s := shapes[r.IntN(len(shapes))]
		err := s.make(r)
		fp := errorFingerprint(s.kind, errorClass(err), err.Error())
		all[fp] = true
		switch {
		case kept[fp]:
		case len(kept) < backend.MaxErrorGroups:
			kept[fp] = true
		default:
			res.other++
		}
	}
	res.distinct = len(all)
	return res
}

// TestErrorStormKeepsOneGroupPerShape replays a storm of failing batch jobs
// of nine failure shapes: it must make nine error groups and nothing in
// "other".
func TestErrorStormKeepsOneGroupPerShape(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	res := simulateStorm(n, 1)
	t.Logf("storm: %d failures of %d shapes -> %d distinct fingerprints, %d failures (%.1f%%) in other",
		n, len(stormShapes()), res.distinct, res.other, 100*float64(res.other)/float64(n))
	if res.distinct != len(stormShapes()) || res.other != 0 {
		var samples []string
		r := rand.New(rand.NewPCG(2, 3))
		for _, s := range stormShapes() {
			samples = append(samples, s.make(r).Error())
		}
		t.Fatalf("storm made %d fingerprints (want %d), %d in other; samples:\n%s", res.distinct, len(stormShapes()), res.other, strings.Join(samples, "\n"))
	}
}

// BenchmarkErrorFingerprint measures the per-failure cost of grouping: the
// class and fingerprint of a typical wrapped error, as Server.failure
// computes them for every failed attempt.
func BenchmarkErrorFingerprint(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := stormShapes()
	errs := make([]error, 64)
	kinds := make([]string, len(errs))
	msgs := make([]string, len(errs))
	for i := range errs {
		s := shapes[i%len(shapes)]
		errs[i], kinds[i] = s.make(r), s.kind
		msgs[i] = errs[i].Error()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(errs)
		_ = errorFingerprint(kinds[k], errorClass(errs[k]), msgs[k])
	}
}
