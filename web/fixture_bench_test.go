package web_test

import (
	"context"
	"flag"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/pagebench"
	"github.com/joblot/joblot/internal/redistest"
)

var fixtureScale = flag.Float64("web.fixture", 0, "run BenchmarkPagesOnFixture on the page-speed fixture at this scale (1: 1,000,000 queued, 100,000 dead, 10,000 batches; 0: skip)")

// BenchmarkPagesOnFixture times whole dashboard requests (handler, store
// calls, rendering) on the page-speed fixture, on both backends:
//
//	go test -run '^$' -bench PagesOnFixture -benchtime 20x ./web/ -args -web.fixture=1
func BenchmarkPagesOnFixture(b *testing.B) {
	if *fixtureScale <= 0 {
		b.Skip("set -web.fixture=1 to seed the page-speed fixture (about a minute)")
	}
	spec := pagebench.Spec{}.Scale(*fixtureScale)
	open := map[string]func() backend.Backend{
		"redis": func() backend.Backend {
			srv := redistest.Start(b)
			be, err := redis.Open(context.Background(), redis.Options{URL: srv.URL, Limits: spec.Limits()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = be.Close() })
			return be
		},
		"bolt": func() backend.Backend {
			be, err := bolt.Open(filepath.Join(b.TempDir(), "joblot.db"), bolt.Options{Limits: spec.Limits(), NoSync: true, NoLocalEndpoint: true})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = be.Close() })
			return be
		},
	}
	for _, name := range []string{"redis", "bolt"} {
		be := open[name]()
		seeded, err := pagebench.Seed(context.Background(), be, spec, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		st, err := be.Stats(context.Background(), time.Now())
		if err != nil {
			b.Fatal(err)
		}
		var queued, dead int64
		for _, q := range st.Queues {
			queued, dead = queued+q.Size, dead+q.Dead
		}
		b.Logf("%s: %d queued, %d dead, %d batches", name, queued, dead, len(seeded.BatchIDs))
		ts := mount(b, be, nil)
		pages := map[string]string{
			"overview":    "/",
			"chart":       "/chart.json",
			"queues":      "/queues",
			"queued":      "/jobs/queued?queue=" + url.QueryEscape(seeded.Queues[0]),
			"dead":        "/jobs/dead",
			"dead-sparse": "/jobs/dead?q=" + url.QueryEscape(pagebench.RareError),
			"batches":     "/batches",
			"batch":       "/batch?id=" + url.QueryEscape(seeded.BatchIDs[len(seeded.BatchIDs)/2]),
			"errors":      "/errors",
			"limits":      "/limits",
			"processes":   "/processes",
		}
		for page, path := range pages {
			b.Run(name+"/"+page, func(b *testing.B) {
				get := func() {
					resp, err := http.Get(ts.URL + mountPath + path)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("GET %s: %d", path, resp.StatusCode)
					}
				}
				get()
				start := time.Now()
				for b.Loop() {
					get()
				}
				b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/page")
			})
		}
	}
}
