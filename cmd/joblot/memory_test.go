package main

import (
	"encoding/json"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/memreport"
	"github.com/joblot/joblot/internal/redistest"
)

// memoryJSON is the part of `memory --json` the tests read.
type memoryJSON struct {
	UsedMemory int64 `json:"used_memory"`
	Families   []struct {
		Family string `json:"family"`
		Keys   int64  `json:"keys"`
		Bytes  int64  `json:"bytes"`
		Top    []struct {
			Key   string `json:"key"`
			Bytes int64  `json:"bytes"`
		} `json:"top"`
	} `json:"families"`
}

func (m memoryJSON) family(t *testing.T, f memreport.Family) (keys, bytes int64, top int) {
	t.Helper()
	for _, fr := range m.Families {
		if fr.Family == string(f) {
			return fr.Keys, fr.Bytes, len(fr.Top)
		}
	}
	t.Fatalf("memory --json has no family %q", f)
	return 0, 0, 0
}

// On a legacy Sidekiq Redis with no joblot keys, evicting keys under
// maxmemory pressure, `memory` attributes the failinfo hashes exactly
// and writes nothing.
func TestMemoryOnLegacySidekiqRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{MaxMemory: "1gb", MaxMemoryPolicy: "allkeys-lru"})
	c := redisClient(t, srv)
	fx := fillSidekiq(t, c, 30, 200)
	s := []string{"--redis", srv.URL}

	var m memoryJSON
	if err := json.Unmarshal([]byte(mustRun(t, args(s, "memory", "--json", "--top", "3")...)), &m); err != nil {
		t.Fatal(err)
	}
	keys, bytes, top := m.family(t, memreport.SidekiqBatchFailinfo)
	if keys != int64(len(fx.failinfo)) || top != 3 {
		t.Errorf("failinfo family: %d keys, %d top keys; want %d and 3", keys, top, len(fx.failinfo))
	}
	// Every failinfo hash here has fewer elements than MEMORY USAGE's
	// default SAMPLES, so the attribution is exact.
	if bytes != fx.failinfoBytes {
		t.Errorf("failinfo family: %d bytes, want %d (MEMORY USAGE SAMPLES 0 summed)", bytes, fx.failinfoBytes)
	}
	if k, _, _ := m.family(t, memreport.SidekiqBatchJids); k != 30 {
		t.Errorf("sidekiq-batch-jids: %d keys, want 30", k)
	}
	if k, _, _ := m.family(t, memreport.Queues); k != 0 {
		t.Errorf("joblot queues on a Sidekiq Redis: %d keys", k)
	}
	if m.UsedMemory <= fx.failinfoBytes {
		t.Errorf("used_memory %d not above the failinfo bytes %d", m.UsedMemory, fx.failinfoBytes)
	}
	if n, _ := redisDo(t, c, "DBSIZE").AsInt64(); n != int64(fx.keys) {
		t.Errorf("memory wrote to Redis: DBSIZE %d, want %d", n, fx.keys)
	}

	// migrate on a Redis with no joblot data says so and writes nothing.
	if out := mustRun(t, args(s, "migrate")...); !contains(out, "no joblot data yet") {
		t.Errorf("migrate on a Sidekiq Redis: %q", out)
	}
	if n, _ := redisDo(t, c, "DBSIZE").AsInt64(); n != int64(fx.keys) {
		t.Errorf("migrate wrote to Redis: DBSIZE %d, want %d", n, fx.keys)
	}

	out := mustRun(t, args(s, "memory")...)
	for _, want := range []string{"sidekiq-batch-failinfo", "b-Zq8_", "used_memory"} {
		if !contains(out, want) {
			t.Errorf("memory output lacks %q:\n%s", want, out)
		}
	}
	// A sampled report states an error bound.
	var sm map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, args(s, "memory", "--json", "--sample", "40")...)), &sm); err != nil {
		t.Fatal(err)
	}
	if sm["sampled"] != true {
		t.Errorf("--sample 40 on %d keys did not sample: %v", fx.keys, sm["sampled"])
	}
}

func TestMemoryOnJoblotStores(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			b := ts.open(t)
			seed(t, b, []seedSpec{{set: backend.SetDead, queue: "mail", kind: "K", errMsg: "boom", fp: "fp", n: 50}})
			b.Close()
			out := mustRun(t, args(ts.flags, "memory", "--json")...)
			if ts.name == "redis" {
				var m memoryJSON
				if err := json.Unmarshal([]byte(out), &m); err != nil {
					t.Fatal(err)
				}
				if k, bytes, _ := m.family(t, memreport.Dead); k != 1 || bytes <= 0 {
					t.Errorf("dead family: %d keys, %d bytes; want 1 key", k, bytes)
				}
				return
			}
			var fm fileMemory
			if err := json.Unmarshal([]byte(out), &fm); err != nil {
				t.Fatal(err)
			}
			var queues *bucketStat
			for i := range fm.Buckets {
				if fm.Buckets[i].Name == "queues" {
					queues = &fm.Buckets[i]
				}
			}
			if fm.FileBytes <= 0 || queues == nil || queues.Keys < 50 {
				t.Errorf("file memory: %+v", fm)
			}
			if out := mustRun(t, args(ts.flags, "memory")...); !contains(out, "file size") || !contains(out, "BUCKET") {
				t.Errorf("memory output on the file:\n%s", out)
			}
		})
	}
}
