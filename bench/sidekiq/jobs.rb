# Jobs for bench/sidekiq/bench.rb, loaded by `sidekiq -r` in the worker process.
#
# The worker counts what it ran in memory and writes one summary key to Redis
# when the BENCH_JOBS-th job has run, so that counting costs Redis nothing per job.
require "sidekiq"
require "json"

Redis.silence_deprecations = true # redis-rb 4.8 warns on every BRPOP of Sidekiq 6.4
Sidekiq.logger.level = Logger::ERROR # per-job lines (start, done, failure) would cost more than the jobs

module Bench
  EXPECTED = Integer(ENV.fetch("BENCH_JOBS", "0"))
  LOCK = Mutex.new
  @count = 0
  @first = nil
  @latencies = []

  def self.now = Process.clock_gettime(Process::CLOCK_REALTIME)

  # ran records one job start (and its latency, if given) and writes the
  # summary to bench:done once EXPECTED jobs have run.
  def self.ran(latency = nil)
    summary = nil
    LOCK.synchronize do
      t = now
      @first ||= t
      @latencies << latency if latency
      @count += 1
      summary = { "count" => @count, "first" => @first, "last" => t } if @count == EXPECTED
    end
    return unless summary
    summary["latencies_ms"] = @latencies.sort.then { |s| quantiles(s) } unless @latencies.empty?
    Sidekiq.redis { |c| c.set("bench:done", JSON.generate(summary)) }
  end

  def self.quantiles(sorted)
    q = ->(p) { sorted[[(p * sorted.size).ceil - 1, 0].max] * 1000.0 }
    { "p50" => q.(0.50), "p99" => q.(0.99), "p999" => q.(0.999), "max" => q.(1.0) }
  end
end

class NoopJob
  include Sidekiq::Worker
  def perform(*) = Bench.ran
end

# DeadJob fails once and goes straight to the dead set (retry: 0).
class DeadJob
  include Sidekiq::Worker
  sidekiq_options retry: 0
  def perform(*)
    Bench.ran
    raise "bench: failing on purpose"
  end
end

# RetryJob fails and waits an hour in the retry set.
class RetryJob
  include Sidekiq::Worker
  sidekiq_options retry: 25
  sidekiq_retry_in { 3600 }
  def perform(*)
    Bench.ran
    raise "bench: failing on purpose"
  end
end

# LatencyJob records the time from its planned enqueue instant to its start.
class LatencyJob
  include Sidekiq::Worker
  def perform(planned) = Bench.ran(Bench.now - planned)
end
