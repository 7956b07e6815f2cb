# Sidekiq 6.4 driver for bench/compare.sh. Same flags and JSON as `joblot bench`:
#
#   ruby bench.rb --redis URL --jobs N [--fail-rate 1 --retries R [--stop-when-retrying]] --json
#   ruby bench.rb latency --redis URL --rate 10000 --duration 10s --json
#   ruby bench.rb idle --redis URL --duration 10s --json
#
# Jobs are pushed with Sidekiq::Client.push_bulk in slices of 1,000 and run by
# `sidekiq -c 25` in its own process (jobs.rb). Processing time runs from the
# first job's start to the last job's end, as the worker process counts them.
require "optparse"
require "json"
require "sidekiq"
require "sidekiq/api"

mode = %w[latency idle].include?(ARGV.first) ? ARGV.shift : "run"
opts = { redis: "redis://127.0.0.1:6379/0", jobs: 100_000, concurrency: 25, fail_rate: 0.0,
         retries: 0, stop_when_retrying: false, rate: 10_000, duration: 10.0 }
OptionParser.new do |o|
  o.on("--redis URL") { |v| opts[:redis] = v }
  o.on("--jobs N", Integer) { |v| opts[:jobs] = v }
  o.on("--concurrency N", Integer) { |v| opts[:concurrency] = v }
  o.on("--fail-rate F", Float) { |v| opts[:fail_rate] = v }
  o.on("--retries N", Integer) { |v| opts[:retries] = v }
  o.on("--stop-when-retrying") { opts[:stop_when_retrying] = true }
  o.on("--rate N", Integer) { |v| opts[:rate] = v }
  o.on("--duration D") { |v| opts[:duration] = Float(v.delete_suffix("s")) }
  o.on("--json") {}
end.parse!(ARGV)
abort "--fail-rate must be 0 or 1" unless [0.0, 1.0].include?(opts[:fail_rate])

Sidekiq.configure_client { |c| c.redis = { url: opts[:redis] } }
Sidekiq.logger.level = Logger::ERROR
Redis.silence_deprecations = true
JOBS_RB = File.join(__dir__, "jobs.rb")
require JOBS_RB # push_bulk takes each class's sidekiq_options (retry) from the class itself
SLICE = 1000

def redis(&) = Sidekiq.redis(&)
def used_memory = redis { |c| c.info("memory")["used_memory"].to_i }
def now = Process.clock_gettime(Process::CLOCK_REALTIME)

# Starts `sidekiq -c N` expecting `jobs` jobs, and waits until it has registered.
def start_worker(opts, jobs)
  env = { "REDIS_URL" => opts[:redis], "BENCH_JOBS" => jobs.to_s }
  pid = spawn(env, "sidekiq", "-r", JOBS_RB, "-c", opts[:concurrency].to_s, "-t", "1",
              out: File::NULL, err: $stderr)
  WORKERS << pid
  deadline = now + 60
  sleep 0.05 until redis { |c| c.scard("processes") } > 0 || now > deadline
  pid
end

def stop_worker(pid)
  Process.kill("TERM", pid)
  Process.wait(pid)
end

# Stops every worker still running when the driver exits, even on error.
WORKERS = []
at_exit do
  WORKERS.each do |pid|
    Process.kill("KILL", pid)
    Process.wait(pid)
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  end
end

# Waits for the worker's summary (see jobs.rb) and returns it.
def wait_done(timeout)
  deadline = now + timeout
  loop do
    raw = redis { |c| c.get("bench:done") }
    if raw
      redis { |c| c.del("bench:done") }
      return JSON.parse(raw)
    end
    raise "sidekiq worker did not finish in #{timeout}s" if now > deadline
    sleep 0.02
  end
end

def run(opts)
  n = opts[:jobs]
  klass = if opts[:fail_rate].zero? then NoopJob
          elsif opts[:retries].zero? then DeadJob
          else RetryJob
          end
  before = used_memory
  t0 = now
  (0...n).each_slice(SLICE) do |slice|
    Sidekiq::Client.push_bulk("class" => klass, "args" => Array.new(slice.size) { [] })
  end
  enqueue_secs = now - t0
  enqueued = used_memory

  pid = start_worker(opts, n)
  done = wait_done(600)
  # Wait until the last failures are filed, then stop the worker so that only
  # the jobs' own state is left in Redis.
  if klass != NoopJob
    target = klass == DeadJob ? [n, Sidekiq.options[:dead_max_jobs]].min : n
    set = klass == DeadJob ? "dead" : "retry"
    deadline = now + 60
    sleep 0.02 until redis { |c| c.zcard(set) } >= target || now > deadline
  end
  stop_worker(pid)
  {
    jobs: n,
    enqueue_per_sec: n / enqueue_secs,
    process_per_sec: n / (done["last"] - done["first"]),
    succeeded: klass == NoopJob ? done["count"] : 0,
    dead: redis { |c| c.zcard("dead") },
    retrying: redis { |c| c.zcard("retry") },
    used_memory_before: before,
    used_memory_enqueued: enqueued,
    used_memory_after: used_memory
  }
end

# Offers opts[:rate] jobs/s for opts[:duration] s, open loop: each 1 ms tick
# pushes (push_bulk) the jobs planned at or before it, stamped with their tick.
def latency(opts)
  rate = opts[:rate]
  n = (rate * opts[:duration]).to_i
  pid = start_worker(opts, n)
  start = now
  sent = 0
  while sent < n
    # As joblot's pacer (internal/benchrun/schedule.go): job i is planned
    # at the first 1 ms tick at or after start + i/rate, the earliest a tick
    # can send it; the ticks are fixed in advance, so a late one still counts.
    elapsed = ((now - start) * 1000).floor / 1000.0
    due = [(elapsed * rate).floor + 1, n].min
    if due > sent
      args = (sent...due).map { |i| [start + (i * 1000.0 / rate).ceil / 1000.0] }
      Sidekiq::Client.push_bulk("class" => LatencyJob, "args" => args)
      sent = due
    else
      sleep 0.001
    end
  end
  achieved = n / (now - start)
  done = wait_done(opts[:duration] + 60)
  stop_worker(pid)
  l = done["latencies_ms"]
  { jobs: n, offered_per_sec: rate, achieved_per_sec: achieved, latency_p50_ms: l["p50"],
    latency_p99_ms: l["p99"], latency_p999_ms: l["p999"], latency_max_ms: l["max"], processed: done["count"] }
end

def command_calls
  redis { |c| c.info("commandstats") }.to_h do |name, stats|
    [name, stats.is_a?(Hash) ? stats["calls"].to_i : stats[/calls=(\d+)/, 1].to_i]
  end
end

# Counts the Redis commands of an idle `sidekiq -c N` during opts[:duration] s.
def idle(opts)
  pid = start_worker(opts, 0)
  sleep 1
  before = command_calls
  sleep opts[:duration]
  after = command_calls
  stop_worker(pid)
  after["info"] -= 1 if after["info"] # the INFO of `before`
  delta = after.to_h { |k, v| [k, v - before.fetch(k, 0)] }.select { |_, v| v.positive? }
  { duration_sec: opts[:duration], redis_calls_per_sec: delta.values.sum / opts[:duration], commands: delta }
end

puts JSON.generate(send(mode, opts))
