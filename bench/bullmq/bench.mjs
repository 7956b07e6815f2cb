// BullMQ driver for bench/compare.sh. Same flags and JSON as `joblot bench`:
//
//   node bench.mjs --redis URL --jobs N [--fail-rate 1 --retries R [--stop-when-retrying]] --json
//   node bench.mjs latency --redis URL --rate 10000 --duration 10s --json
//   node bench.mjs idle --redis URL --duration 10s --json
//
// Jobs are added with Queue.addBulk in slices of 1,000 and run by a Worker of
// concurrency 50 with removeOnComplete: true. Processing time runs from the
// first job's start to the last job's end, counted by the processor. Failing
// jobs with retries back off for an hour, so they stay in the delayed set.
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue, Worker } from "bullmq";
import IORedis from "ioredis";

const QUEUE = "bench";
const SLICE = 1000;

const argv = process.argv.slice(2);
const mode = ["latency", "idle"].includes(argv[0]) ? argv.shift() : "run";
const { values: flags } = parseArgs({
  args: argv,
  options: {
    redis: { type: "string", default: "redis://127.0.0.1:6379/0" },
    jobs: { type: "string", default: "100000" },
    concurrency: { type: "string", default: "50" },
    "fail-rate": { type: "string", default: "0" },
    retries: { type: "string", default: "0" },
    "stop-when-retrying": { type: "boolean", default: false },
    rate: { type: "string", default: "10000" },
    duration: { type: "string", default: "10s" },
    json: { type: "boolean", default: true },
  },
});
const opts = {
  jobs: Number(flags.jobs),
  concurrency: Number(flags.concurrency),
  failRate: Number(flags["fail-rate"]),
  retries: Number(flags.retries),
  rate: Number(flags.rate),
  durationSec: parseFloat(flags.duration),
};
if (opts.failRate !== 0 && opts.failRate !== 1) throw new Error("--fail-rate must be 0 or 1");

const connection = { url: flags.redis, maxRetriesPerRequest: null };
const rdb = new IORedis(flags.redis);
const now = () => performance.timeOrigin + performance.now(); // ms since the epoch, sub-ms

async function info(section) {
  const text = await rdb.info(section);
  return text.split("\r\n").filter((l) => l.includes(":") && !l.startsWith("#"));
}

async function usedMemory() {
  const line = (await info("memory")).find((l) => l.startsWith("used_memory:"));
  return Number(line.split(":")[1]);
}

async function commandCalls() {
  const calls = {};
  for (const line of await info("commandstats")) {
    const m = line.match(/^cmdstat_([^:]+):calls=(\d+)/);
    if (m) calls[m[1]] = Number(m[2]);
  }
  return calls;
}

async function waitFor(cond, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function quantile(sorted, q) {
  return sorted[Math.max(Math.ceil(q * sorted.length) - 1, 0)] ?? 0;
}

async function run() {
  const n = opts.jobs;
  const fails = opts.failRate === 1;
  const jobOpts = { removeOnComplete: true };
  if (fails && opts.retries > 0) {
    jobOpts.attempts = opts.retries + 1;
    jobOpts.backoff = { type: "fixed", delay: 3600_000 };
  }
  const queue = new Queue(QUEUE, { connection });
  await queue.waitUntilReady();

  const before = await usedMemory();
  const t0 = now();
  for (let i = 0; i < n; i += SLICE) {
    const size = Math.min(SLICE, n - i);
    await queue.addBulk(Array.from({ length: size }, () => ({ name: "noop", data: {}, opts: jobOpts })));
  }
  const enqueuePerSec = n / ((now() - t0) / 1000);
  const enqueued = await usedMemory();

  let count = 0, first = 0, last = 0;
  let allDone;
  const done = new Promise((resolve) => (allDone = resolve));
  const worker = new Worker(
    QUEUE,
    async () => {
      const t = now();
      if (count === 0) first = t;
      if (++count === n) { last = t; allDone(); }
      if (fails) throw new Error("bench: failing on purpose");
    },
    { connection, concurrency: opts.concurrency },
  );
  await done;
  // Wait until BullMQ has filed every job, then stop the worker so that only
  // the jobs' own state is left in Redis.
  await waitFor(async () => {
    const c = await queue.getJobCounts("wait", "active", "prioritized");
    return c.wait + c.active + c.prioritized === 0;
  }, 60_000, "an empty queue");
  if (fails) {
    const set = opts.retries > 0 ? "delayed" : "failed";
    await waitFor(async () => (await queue.getJobCounts(set))[set] >= n, 60_000, `${n} ${set} jobs`);
  }
  await worker.close();
  const counts = await queue.getJobCounts("failed", "delayed");
  await queue.close();
  return {
    jobs: n,
    enqueue_per_sec: enqueuePerSec,
    process_per_sec: n / ((last - first) / 1000),
    succeeded: fails ? 0 : count,
    dead: counts.failed,
    retrying: counts.delayed,
    used_memory_before: before,
    used_memory_enqueued: enqueued,
    used_memory_after: await usedMemory(),
  };
}

// Offers opts.rate jobs/s for opts.durationSec s, open loop: each 1 ms tick adds
// (addBulk) the jobs planned at or before it, stamped with their tick.
async function latency() {
  const { rate } = opts;
  const n = Math.floor(rate * opts.durationSec);
  const latencies = [];
  let allDone;
  const done = new Promise((resolve) => (allDone = resolve));
  const worker = new Worker(
    QUEUE,
    async (job) => {
      latencies.push(now() - job.data.planned);
      if (latencies.length === n) allDone();
    },
    { connection, concurrency: opts.concurrency },
  );
  await worker.waitUntilReady();
  const queue = new Queue(QUEUE, { connection });
  await queue.waitUntilReady();

  const start = now();
  let sent = 0;
  const adds = [];
  while (sent < n) {
    // As joblot's pacer (internal/benchrun/schedule.go): job i is planned at
    // the first 1 ms tick at or after start + i/rate, the earliest a tick can
    // send it; the ticks are fixed in advance, so a late tick still counts.
    const elapsed = Math.floor(now() - start);
    const due = Math.min(Math.floor((elapsed * rate) / 1000) + 1, n);
    if (due > sent) {
      const jobs = [];
      for (let i = sent; i < due; i++) {
        jobs.push({ name: "lat", data: { planned: start + Math.ceil((i * 1000) / rate) }, opts: { removeOnComplete: true } });
      }
      adds.push(queue.addBulk(jobs)); // not awaited: the schedule never waits for Redis
      sent = due;
    }
    await sleep(1);
  }
  await Promise.all(adds);
  const achieved = n / ((now() - start) / 1000);
  await Promise.race([done, sleep((opts.durationSec + 60) * 1000)]);
  await worker.close();
  await queue.close();
  const sorted = latencies.slice().sort((a, b) => a - b);
  return {
    jobs: n, offered_per_sec: rate, achieved_per_sec: achieved,
    latency_p50_ms: quantile(sorted, 0.5), latency_p99_ms: quantile(sorted, 0.99),
    latency_p999_ms: quantile(sorted, 0.999), latency_max_ms: quantile(sorted, 1),
    processed: latencies.length,
  };
}

// Counts the Redis commands of an idle Worker during opts.durationSec s.
async function idle() {
  const worker = new Worker(QUEUE, async () => {}, { connection, concurrency: opts.concurrency });
  await worker.waitUntilReady();
  await sleep(1000);
  const before = await commandCalls();
  await sleep(opts.durationSec * 1000);
  const after = await commandCalls();
  await worker.close();
  after.info -= 1; // the INFO of `before`
  const commands = {};
  let total = 0;
  for (const [name, calls] of Object.entries(after)) {
    const delta = calls - (before[name] ?? 0);
    if (delta > 0) { commands[name] = delta; total += delta; }
  }
  return { duration_sec: opts.durationSec, redis_calls_per_sec: total / opts.durationSec, commands };
}

const result = await { run, latency, idle }[mode]();
console.log(JSON.stringify(result));
rdb.disconnect();
