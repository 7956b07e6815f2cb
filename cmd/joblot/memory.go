package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/memreport"
)

func newMemoryCmd(a *app) *cobra.Command {
	var (
		sample, top int
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "memory",
		Short: "Attribute Redis memory to key families (joblot's and legacy Sidekiq's); file size on the embedded store",
		Long: `On Redis, attribute used_memory to key families — joblot's own (queues,
scheduled, retry, dead, batch state, batch error groups, stats,
processes) and legacy Sidekiq / Sidekiq Pro ones (queue:*, schedule,
retry, dead, b-*, b-*-jids, b-*-failinfo, b-*-failed, b-*-died, ...) —
with key counts, bytes, share of used_memory and the biggest keys.

It walks the keyspace with SCAN at a bounded COUNT and MEMORY USAGE,
pausing between calls, so Redis is never blocked. --sample N measures a
random sample of about N keys on a big database and prints the
estimate's error bound. It works on any Redis, including a legacy
Sidekiq one with no joblot keys: it writes nothing and does not mind the
maxmemory-policy.

On the embedded store it prints the file's size and, when this process
can open the file, its buckets' page usage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sample < 0 || top < 0 {
				return errors.New("--sample and --top must not be negative")
			}
			c, err := a.store.choose(a.getenv)
			if err != nil {
				return err
			}
			if c.redisURL == "" {
				return a.fileMemory(cmd.Context(), asJSON)
			}
			keys, err := c.keys()
			if err != nil {
				return err
			}
			rc, err := c.redisClient()
			if err != nil {
				return err
			}
			defer rc.Close()
			opts := memreport.Options{Sample: sample, TopKeys: top, Keys: keys}
			if top == 0 {
				opts.TopKeys = -1
			}
			b := newUnitBar(a.stdout, !asJSON, -1, "scanning", "keys")
			opts.Progress = func(scanned, total int64) {
				b.SetTotal(total)
				b.Set(scanned)
			}
			res, err := memreport.Report(cmd.Context(), rc, opts)
			b.Finish()
			if err != nil {
				return fmt.Errorf("memory report on redis %s: %w", redis.RedactURL(c.redisURL), err)
			}
			if asJSON {
				return writeJSON(a.stdout, viewMemory(res))
			}
			return memreport.Format(a.stdout, res)
		},
	}
	cmd.Flags().IntVar(&sample, "sample", 0, "measure a random sample of about N keys and estimate (0: measure every key)")
	cmd.Flags().IntVar(&top, "top", memreport.DefaultTopKeys, "biggest keys to list per family (0: none)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// fileMemory is the embedded store's memory report.
type fileMemory struct {
	Store string `json:"store"`
	// FileBytes is the file's size.
	FileBytes int64 `json:"file_bytes"`
	// The rest needs the file opened by this process (not through its
	// owner's endpoint, which reports the size only).
	PageSize int `json:"page_size,omitempty"`
	// FreePages are free and pending pages, reused by later writes.
	FreePages int          `json:"free_pages,omitempty"`
	FreeBytes int          `json:"free_bytes,omitempty"`
	Buckets   []bucketStat `json:"buckets,omitempty"`
	Note      string       `json:"note,omitempty"`
}

// bucketStat is one top-level bucket's share of the file (nested buckets
// included).
type bucketStat struct {
	Name string `json:"name"`
	// Keys counts key/value pairs, nested buckets included.
	Keys    int `json:"keys"`
	Buckets int `json:"buckets"`
	// Alloc is the bytes of the pages it occupies; Inuse what it fills.
	Alloc int `json:"alloc_bytes"`
	Inuse int `json:"inuse_bytes"`
}

func (a *app) fileMemory(ctx context.Context, asJSON bool) error {
	s, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	m := fileMemory{Store: s.desc}
	switch {
	case s.bolt != nil:
		if m.FileBytes, err = s.bolt.FileSize(); err != nil {
			return err
		}
		if err := boltStats(s.bolt.DB(), &m); err != nil {
			return err
		}
	default:
		// The owner's backend reports the size if it is a MemoryReporter;
		// otherwise the file's size is there for anyone to read.
		if mr, ok := s.Backend.(backend.MemoryReporter); ok {
			info, err := mr.Memory(ctx)
			if err != nil {
				return err
			}
			m.FileBytes = info.Used
		} else {
			fi, err := os.Stat(s.path)
			if err != nil {
				return err
			}
			m.FileBytes = fi.Size()
		}
		m.Note = "bucket statistics need the file itself: run this again while no process owns it"
	}
	if asJSON {
		return writeJSON(a.stdout, m)
	}
	return printFileMemory(a.stdout, m)
}

// boltStats reads page usage per top-level bucket in one read-only
// transaction (it visits every page of the file).
func boltStats(db *bbolt.DB, m *fileMemory) error {
	m.PageSize = db.Info().PageSize
	st := db.Stats()
	m.FreePages = st.FreePageN + st.PendingPageN
	m.FreeBytes = m.FreePages * m.PageSize
	return db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			bs := b.Stats()
			m.Buckets = append(m.Buckets, bucketStat{
				Name: string(name), Keys: bs.KeyN, Buckets: bs.BucketN,
				Alloc: bs.BranchAlloc + bs.LeafAlloc, Inuse: bs.BranchInuse + bs.LeafInuse,
			})
			return nil
		})
	})
}

func printFileMemory(w io.Writer, m fileMemory) error {
	t := newTable(w)
	fmt.Fprintf(t, "store\t%s\n", cell(m.Store))
	fmt.Fprintf(t, "file size\t%s\t(%d bytes)\n", memreport.HumanBytes(m.FileBytes), m.FileBytes)
	if m.PageSize > 0 {
		fmt.Fprintf(t, "page size\t%d\n", m.PageSize)
		fmt.Fprintf(t, "free pages\t%d\t(%s, reused by later writes)\n", m.FreePages, memreport.HumanBytes(int64(m.FreeBytes)))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if m.Note != "" {
		fmt.Fprintln(w, m.Note)
	}
	if len(m.Buckets) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t = newTable(w)
	fmt.Fprintln(t, "BUCKET\tKEYS\tBUCKETS\tALLOCATED\tIN USE")
	for _, b := range m.Buckets {
		fmt.Fprintf(t, "%s\t%d\t%d\t%s\t%s\n", cell(b.Name), b.Keys, b.Buckets, memreport.HumanBytes(int64(b.Alloc)), memreport.HumanBytes(int64(b.Inuse)))
	}
	return t.Flush()
}
