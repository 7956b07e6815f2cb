#!/usr/bin/env bash
# A/B of two joblot revisions on one private redis-server: alternating rounds
# of `joblot bench` (plain and with batches) and `joblot bench latency`, built
# from each revision, with the medians of Redis's own figures per job.
#
#   bash bench/ab.sh --base REV [--new REV] [--rounds N] [--jobs N]
#
# Options (defaults in brackets):
#   --base REV     the revision to compare against (required), e.g. a commit
#   --new REV      the revision under test [the working tree]
#   --rounds N     rounds; each round runs base then new [5]
#   --jobs N       jobs per throughput run [300000]
#   --batch-size N jobs per batch of the batch runs [10000]
#   --rate N       offered jobs/s of the latency runs [10000]
#   --duration D   length of the latency runs [10s]
#   --runs "R..."  which runs each round makes, of plain, batch, latency
#                  ["plain batch latency"]
#
# Odd rounds run base first, even rounds new first, so that neither gains
# from always following the other.
# Before each run the Redis is flushed and its statistics reset; "Redis CPU"
# is the main thread's user+sys CPU over the run (enqueue and processing),
# "EVALSHA" the time INFO commandstats counts inside scripts, both per job.
# Medians over the rounds; every run's figures are in bench/out/ab/runs.jsonl.
set -euo pipefail

BASE="" NEW="" ROUNDS=5 JOBS=300000 BATCH=10000 RATE=10000 DURATION=10s RUNS="plain batch latency"
while (($#)); do
  case $1 in
    --base) BASE=$2; shift ;;
    --new) NEW=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    --batch-size) BATCH=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -n $BASE ]] || { echo "ab.sh: --base REV is required" >&2; exit 2; }
[[ -x /usr/local/go/bin/go ]] && PATH=$PATH:/usr/local/go/bin
command -v redis-server >/dev/null || { echo "ab.sh: needs redis-server (apt-get install -y redis-server)" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/bench/out/ab
TMP=$(mktemp -d "${TMPDIR:-/tmp}/joblot-ab.XXXXXX")
REDIS_PID=""
cleanup() {
  if [[ -n $REDIS_PID ]]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  git -C "$ROOT" worktree remove --force "$TMP/src-base" 2>/dev/null || true
  git -C "$ROOT" worktree remove --force "$TMP/src-new" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT"

# build REV NAME: a binary of revision REV (the working tree when REV is empty).
build() {
  local rev=$1 name=$2 src=$ROOT
  if [[ -n $rev ]]; then
    src=$TMP/src-$name
    git -C "$ROOT" worktree add -q --detach "$src" "$rev"
  fi
  (cd "$src" && go build -o "$TMP/$name" ./cmd/joblot)
  echo "== built $name from ${rev:-the working tree} ($(git -C "$src" rev-parse --short HEAD)$([[ -z $rev && -n $(git -C "$ROOT" status --porcelain) ]] && echo ', with uncommitted changes'))" >&2
}
build "$BASE" base
build "$NEW" new

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
R=(redis-cli -p "$PORT")
for _ in $(seq 50); do "${R[@]}" ping >/dev/null 2>&1 && break; sleep 0.1; done
URL=redis://127.0.0.1:$PORT

cpu() { "${R[@]}" info cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys)_main_thread/{s+=$2} END{printf "%.6f", s}'; }
evalsha() { "${R[@]}" info commandstats | tr -d '\r' | awk -F'[=,:]' '/^cmdstat_evalsha/{print $3, $5; f=1} END{if(!f) print 0, 0}'; }

: >"$OUT/runs.jsonl"
for round in $(seq "$ROUNDS"); do
  order="base new"
  ((round % 2)) || order="new base"
  for v in $order; do
    for run in $RUNS; do
      "${R[@]}" flushall >/dev/null
      "${R[@]}" config resetstat >/dev/null
      c0=$(cpu)
      case $run in
        plain) args=(bench --redis "$URL" --jobs "$JOBS" --json) ;;
        batch) args=(bench --redis "$URL" --jobs "$JOBS" --batch-size "$BATCH" --json) ;;
        latency) args=(bench latency --redis "$URL" --rate "$RATE" --duration "$DURATION" --json) ;;
      esac
      res=$("$TMP/$v" "${args[@]}" 2>>"$OUT/stderr.log" | tr -d '\n')
      c1=$(cpu)
      read -r calls usec < <(evalsha)
      echo "== round $round $v $run" >&2
      printf '{"round":%d,"v":"%s","run":"%s","jobs":%d,"redis_cpu_s":%s,"evalsha_calls":%d,"evalsha_usec":%d,"result":%s}\n' \
        "$round" "$v" "$run" "$JOBS" "$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.6f", b - a}')" "$calls" "$usec" "$res" >>"$OUT/runs.jsonl"
    done
  done
done

python3 - "$OUT/runs.jsonl" <<'EOF'
import json, statistics as st, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = lambda xs: st.median(xs) if xs else float("nan")
# Go allocation per job and GC cycles, from the bench's own reading of the
# process (absent, so nan, in revisions older than the field).
go = lambda rs, k: med([r["result"][k] for r in rs if k in r["result"]])
runs = [run for run in ("plain", "batch") if any(r["run"] == run for r in rows)]
if runs:
    print("| run | version | rounds | process/s | Redis CPU µs/job | EVALSHA µs/job | EVALSHA calls | Go B/job | GC cycles | joblot CPU µs/job |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for run in runs:
    for v in ("base", "new"):
        rs = [r for r in rows if r["run"] == run and r["v"] == v]
        j = rs[0]["jobs"] if rs else 1
        print(f"| {run} | {v} | {len(rs)} | {med([r['result']['process_per_sec'] for r in rs]):,.0f} | "
              f"{med([r['redis_cpu_s'] * 1e6 / j for r in rs]):.2f} | {med([r['evalsha_usec'] / j for r in rs]):.2f} | "
              f"{med([r['evalsha_calls'] for r in rs]):,.0f} | {go(rs, 'go_alloc_bytes_per_job'):.0f} | {go(rs, 'go_gc_cycles'):.0f} | {go(rs, 'process_cpu_us_per_job'):.2f} |")
if any(r["run"] == "latency" for r in rows):
    print()
    print("| latency | version | rounds | p50 ms | p99 ms | p999 ms | EVALSHA calls | Go B/job | GC cycles |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for v in ("base", "new") if any(r["run"] == "latency" for r in rows) else ():
    rs = [r for r in rows if r["run"] == "latency" and r["v"] == v]
    g = lambda k: med([r["result"][k] for r in rs])
    print(f"| latency | {v} | {len(rs)} | {g('latency_p50_ms'):.2f} | {g('latency_p99_ms'):.2f} | {g('latency_p999_ms'):.2f} | "
          f"{med([r['evalsha_calls'] for r in rs]):,.0f} | {go(rs, 'go_alloc_bytes_per_job'):.0f} | {go(rs, 'go_gc_cycles'):.0f} |")
p99 = {(r["round"], r["v"]): r["result"]["latency_p99_ms"] for r in rows if r["run"] == "latency"}
pairs = [(p99[(k, "base")], p99[(k, "new")]) for k, v in p99 if v == "base" and (k, "new") in p99]
if pairs:
    print()
    print(f"p99 lower for new in {sum(n < b for b, n in pairs)} of {len(pairs)} rounds; per round base/new: "
          + ", ".join(f"{b:.2f}/{n:.2f}" for b, n in pairs))
EOF
