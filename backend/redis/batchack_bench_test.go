package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// BenchmarkBatchAck measures batch_ack.lua alone on its common case: calls
// of succeeded events on pending jobs of one paged batch, 1 a call (the
// script's fixed cost, what many small batches pay per job), 35 and 500
// (`joblot bench --batch-size 10000` sends 200–300 a call). It
// reports the script's Redis time per job (INFO commandstats), which the
// machine's other load disturbs less than wall time, and the CPU time of
// Redis's main thread per job (which includes reading the calls).
func BenchmarkBatchAck(bb *testing.B) {
	for _, chunk := range []int{1, 35, 500} {
		bb.Run(fmt.Sprintf("Chunk%d", chunk), func(bb *testing.B) { benchBatchAck(bb, chunk) })
	}
}

func benchBatchAck(bb *testing.B, chunk int) {
	ctx := context.Background()
	b, _ := openTest(bb)
	const size = 50_000
	var (
		id   string
		next int64 = size
		seq  int
	)
	newBatch := func() {
		seq++
		id = "bench" + strconv.Itoa(seq)
		reservedBatch(bb, b, id, size)
		next = 0
	}
	events := make([]batchJobEvent, 0, chunk)
	var usec, calls int64
	var cpu, cpu0 float64
	bb.ResetTimer()
	for done := 0; done < bb.N; {
		if next == size {
			bb.StopTimer()
			if seq > 0 {
				u, c := evalshaStats(bb, b)
				usec += u
				calls += c
				cpu += mainThreadCPU(bb, b) - cpu0
			}
			newBatch()
			resetStats(bb, b)
			cpu0 = mainThreadCPU(bb, b)
			bb.StartTimer()
		}
		n := int(min(int64(chunk), int64(bb.N-done), size-next))
		events = events[:0]
		for i := range n {
			events = append(events, batchJobEvent{batch: id, index: next + int64(i), event: backend.EventSucceeded})
		}
		if _, err := b.applyBatchEvents(ctx, events, time.Now()); err != nil {
			bb.Fatal(err)
		}
		next += int64(n)
		done += n
	}
	bb.StopTimer()
	u, c := evalshaStats(bb, b)
	usec += u
	calls += c
	cpu += mainThreadCPU(bb, b) - cpu0
	bb.ReportMetric(float64(usec)/float64(bb.N), "redis-us/job")
	bb.ReportMetric(cpu*1e6/float64(bb.N), "redis-cpu-us/job")
	bb.ReportMetric(float64(usec)/float64(max(calls, 1)), "redis-us/call")
}

func resetStats(tb testing.TB, b *Backend) {
	if err := b.c.Do(context.Background(), b.c.B().ConfigResetstat().Build()).Error(); err != nil {
		tb.Fatal(err)
	}
}

// evalshaStats reads EVALSHA's total usec and calls from INFO commandstats.
func evalshaStats(tb testing.TB, b *Backend) (usec, calls int64) {
	s, err := b.c.Do(context.Background(), b.c.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(s, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_evalsha:")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "calls":
				calls = n
			case "usec":
				usec = n
			}
		}
	}
	return usec, calls
}

// mainThreadCPU reads the seconds of CPU Redis's main thread has used.
func mainThreadCPU(tb testing.TB, b *Backend) float64 {
	s, err := b.c.Do(context.Background(), b.c.B().Info().Section("cpu").Build()).ToString()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(s, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_user_main_thread" || k == "used_cpu_sys_main_thread" {
			f, _ := strconv.ParseFloat(v, 64)
			sum += f
		}
	}
	return sum
}

// BenchmarkBatchAckArgs measures building batch_ack.lua's arguments for
// one call of 35 successes (the worker's side of BenchmarkBatchAck).
func BenchmarkBatchAckArgs(bb *testing.B) {
	events := make([]batchJobEvent, 35)
	ks := make([]int, len(events))
	for i := range events {
		events[i] = batchJobEvent{batch: "b", index: int64(4000 + 3*i), event: backend.EventSucceeded}
		ks[i] = i
	}
	head := []string{"1", "2", "3", "4", "100"}
	bb.ReportAllocs()
	for bb.Loop() {
		byPage(events, ks)
		batchAckArgs(head, events, ks)
	}
}
