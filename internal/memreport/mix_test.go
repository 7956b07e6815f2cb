package memreport

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/internal/redistest"
)

func newClient(t testing.TB, srv *redistest.Server) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true})
	if err != nil {
		t.Fatalf("rueidis: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// mix is a known population: every key the test wrote and the family the
// test (not Classify) says it belongs to.
type mix struct {
	family map[string]Family
}

// filler writes keys in pipelines and remembers their families.
type filler struct {
	t    testing.TB
	c    rueidis.Client
	m    *mix
	rng  *rand.Rand
	cmds rueidis.Commands
}

func (f *filler) add(key string, fam Family, cmds ...rueidis.Completed) {
	f.m.family[key] = fam
	f.cmds = append(f.cmds, cmds...)
	if len(f.cmds) >= 200 {
		f.flush()
	}
}

func (f *filler) flush() {
	for _, r := range f.c.DoMulti(context.Background(), f.cmds...) {
		if err := r.Error(); err != nil {
			f.t.Fatalf("fill: %v", err)
		}
	}
	f.cmds = nil
}

func (f *filler) text(minLen, maxLen int) string {
	n := minLen + f.rng.IntN(maxLen-minLen+1)
	var b strings.Builder
	for b.Len() < n {
		b.WriteString("err: connection refused by upstream host; ")
	}
	return b.String()[:n]
}

func (f *filler) jid() string { return fmt.Sprintf("%024x", f.rng.Uint64()) }

// fillMix writes joblot keys of every family, a Sidekiq Pro population
// shaped like the incident (200 batches with 500-entry failinfo hashes of
// ~200-byte messages) and unrelated keys.
func fillMix(t testing.TB, c rueidis.Client) *mix {
	m := &mix{family: make(map[string]Family)}
	f := &filler{t: t, c: c, m: m, rng: rand.New(rand.NewPCG(1, 2))}
	b := c.B()

	// joblot: 3 queues.
	for _, q := range []string{"default", "mail", "reports"} {
		tag := "{jl:q:" + q + "}"
		payloads := func(n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = f.jid() + f.text(40, 120)
			}
			return out
		}
		f.add(tag+":jobs", Queues, b.Rpush().Key(tag+":jobs").Element(payloads(300)...).Build())
		for _, set := range []struct {
			suffix string
			fam    Family
		}{{":sched", Scheduled}, {":retry", Retry}, {":dead", Dead}} {
			z := b.Zadd().Key(tag + set.suffix).ScoreMember()
			for i, p := range payloads(150) {
				z = z.ScoreMember(float64(1_700_000_000_000+i), p)
			}
			f.add(tag+set.suffix, set.fam, z.Build())
		}
		for _, proc := range []string{"p1", "p2"} {
			h := b.Hset().Key(tag + ":wip:" + proc).FieldValue()
			for _, p := range payloads(20) {
				h = h.FieldValue(p[:24], p)
			}
			f.add(tag+":wip:"+proc, InFlight, h.Build())
		}
		f.add(tag+":stats", Stats, b.Hset().Key(tag+":stats").FieldValue().FieldValue("processed", "1000").FieldValue("failed", "12").Build())
		for d := 1; d <= 5; d++ {
			k := fmt.Sprintf("%s:day:2025-01-%02d", tag, d)
			f.add(k, Stats, b.Hset().Key(k).FieldValue().FieldValue("processed", "10").FieldValue("failed", "1").Build())
		}
		f.add(tag+":paused", JoblotOther, b.Set().Key(tag+":paused").Value("1").Build())
		f.add(tag+":once:cb-1", JoblotOther, b.Set().Key(tag+":once:cb-1").Value("1").Build())
	}
	// joblot: 60 batches.
	idx := b.Zadd().Key("jl:batches").ScoreMember()
	for i := 0; i < 60; i++ {
		id := fmt.Sprintf("batch%03d", i)
		tag := "{jl:b:" + id + "}"
		idx = idx.ScoreMember(float64(i), id)
		f.add(tag+":meta", BatchState, b.Hset().Key(tag+":meta").FieldValue().FieldValue("state", "running").FieldValue("total", "1000").FieldValue("pending", "10").Build())
		f.add(tag+":bits", BatchState, b.Setrange().Key(tag+":bits").Offset(int64(f.rng.IntN(3000))).Value("\x00").Build())
		errs := b.Hset().Key(tag + ":errs").FieldValue()
		for g := 0; g < 1+f.rng.IntN(32); g++ {
			errs = errs.FieldValue(fmt.Sprintf("fp%02d", g), f.text(60, 256))
		}
		f.add(tag+":errs", BatchErrors, errs.Build())
		if i%3 == 0 {
			f.add(tag+":outbox", BatchState, b.Rpush().Key(tag+":outbox").Element(f.text(80, 120)).Build())
			f.add(tag+":kids", BatchState, b.Sadd().Key(tag+":kids").Member("child-a", "child-b").Build())
			f.add(tag+":adds", BatchState, b.Hset().Key(tag+":adds").FieldValue().FieldValue(f.jid(), "12").Build())
		}
	}
	f.add("jl:batches", BatchState, idx.Build())
	f.add("jl:stats", Stats, b.Hset().Key("jl:stats").FieldValue().FieldValue("expired_batch_events", "3").Build())
	f.add("jl:procs", Processes, b.Zadd().Key("jl:procs").ScoreMember().ScoreMember(1, "p1").ScoreMember(2, "p2").Build())
	for _, p := range []string{"p1", "p2"} {
		f.add("jl:proc:"+p, Processes, b.Hset().Key("jl:proc:"+p).FieldValue().FieldValue("hostname", "h").FieldValue("pid", "42").Build())
	}
	f.add("jl:version", JoblotOther, b.Set().Key("jl:version").Value("1").Build())
	f.add("jl:queues", JoblotOther, b.Sadd().Key("jl:queues").Member("default", "mail", "reports").Build())
	f.add("jl:lease:forwarder", JoblotOther, b.Set().Key("jl:lease:forwarder").Value("p1").Build())

	// Sidekiq Pro: 200 batches.
	for i := 0; i < 200; i++ {
		bid := fmt.Sprintf("Xy%012d_k", i)
		f.add("b-"+bid, SidekiqBatch, b.Hset().Key("b-"+bid).FieldValue().FieldValue("total", "600").FieldValue("pending", "500").FieldValue("description", "nightly import").Build())
		jids := make([]string, 50+f.rng.IntN(100))
		for j := range jids {
			jids[j] = f.jid()
		}
		f.add("b-"+bid+"-jids", SidekiqBatchJids, b.Sadd().Key("b-"+bid+"-jids").Member(jids...).Build())
		fi := b.Hset().Key("b-" + bid + "-failinfo").FieldValue()
		failed := make([]string, 500)
		for j := range failed {
			failed[j] = f.jid()
			fi = fi.FieldValue(failed[j], `["Net::ReadTimeout","`+f.text(150, 250)+`"]`)
		}
		f.add("b-"+bid+"-failinfo", SidekiqBatchFailinfo, fi.Build())
		f.add("b-"+bid+"-failed", SidekiqBatchFailed, b.Sadd().Key("b-"+bid+"-failed").Member(failed...).Build())
		if i%4 == 0 {
			f.add("b-"+bid+"-died", SidekiqBatchDied, b.Sadd().Key("b-"+bid+"-died").Member(failed[:40]...).Build())
		}
	}
	sq := make([]string, 2000)
	for i := range sq {
		sq[i] = `{"class":"ImportJob","jid":"` + f.jid() + `","args":[` + fmt.Sprint(i) + `]}`
	}
	f.add("queue:default", SidekiqQueues, b.Lpush().Key("queue:default").Element(sq...).Build())
	f.add("queue:low", SidekiqQueues, b.Lpush().Key("queue:low").Element(sq[:10]...).Build())
	for _, k := range []struct {
		key string
		fam Family
	}{{"schedule", SidekiqSchedule}, {"retry", SidekiqRetry}, {"dead", SidekiqDead}} {
		z := b.Zadd().Key(k.key).ScoreMember()
		for i, p := range sq[:500] {
			z = z.ScoreMember(float64(i), p+f.text(100, 300))
		}
		f.add(k.key, k.fam, z.Build())
	}
	f.add("processes", SidekiqProcesses, b.Sadd().Key("processes").Member("host:1:abc").Build())
	f.add("stat:processed", SidekiqStats, b.Set().Key("stat:processed").Value("123456").Build())
	f.add("stat:failed:2025-01-01", SidekiqStats, b.Set().Key("stat:failed:2025-01-01").Value("12").Build())

	// Unrelated keys, some with Sidekiq-looking names.
	for i := 0; i < 2000; i++ {
		k := fmt.Sprintf("myapp:session:%d", i)
		f.add(k, Other, b.Set().Key(k).Value(f.text(10, 2000)).Build())
	}
	f.add("b-foo", Other, b.Set().Key("b-foo").Value("another app's b-foo string").Build())
	f.add("b-123-failinfo-backup", Other, b.Set().Key("b-123-failinfo-backup").Value("backup").Build())
	f.add("b-bar-jids", Other, b.Rpush().Key("b-bar-jids").Element("not", "a", "set").Build())
	f.flush()
	return m
}

// truth measures every key of the mix with MEMORY USAGE … SAMPLES 0, key by
// key, independently of the report's walk.
func (m *mix) truth(t testing.TB, c rueidis.Client) (keys map[Family]int64, bytes map[Family]int64) {
	keys, bytes = make(map[Family]int64), make(map[Family]int64)
	ctx := context.Background()
	for k, fam := range m.family {
		n, err := c.Do(ctx, c.B().MemoryUsage().Key(k).Samples(0).Build()).AsInt64()
		if err != nil {
			t.Fatalf("MEMORY USAGE %s: %v", k, err)
		}
		keys[fam]++
		bytes[fam] += n
	}
	return keys, bytes
}
