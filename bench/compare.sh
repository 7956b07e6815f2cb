#!/usr/bin/env bash
# Side-by-side benchmark of joblot, asynq, Sidekiq and BullMQ on one private
# redis-server. One command from a clean checkout:
#
#   bash bench/compare.sh [--jobs N] [--rounds R] [--update-docs]
#
# Options (defaults in brackets):
#   --jobs N            no-op jobs per throughput run [100000]
#   --rounds R          rounds per system; the table shows medians [3]
#   --fail-jobs N       jobs of the dead and retrying runs [20000]
#   --rate N            offered jobs/s of the open-loop latency run [10000]
#   --duration D        length of the latency run [10s]
#   --idle-duration D   length of the idle run [60s]: the idle process's
#                       periodic duties run every 4-15 s, so a short window
#                       counts a few start-up and boundary calls per second
#   --systems "A B"     subset of: joblot joblot-batches asynq sidekiq bullmq [all]
#   --update-docs       rewrite BENCHMARKS.md's generated section and bench/chart.png
#
# Each driver (bench/asynq, bench/sidekiq, bench/bullmq, and `joblot bench`)
# takes the same flags and prints one JSON object; see BENCHMARKS.md for what
# each figure means. Writes bench/out/{results.json,table.md,chart.png}.
set -euo pipefail

JOBS=100000 ROUNDS=3 FAIL_JOBS=20000 RATE=10000 DURATION=10s IDLE_DURATION=60s UPDATE_DOCS=0
SYSTEMS="joblot joblot-batches asynq sidekiq bullmq"
COMMAND="bash bench/compare.sh $*"
while (($#)); do
  case $1 in
    --jobs) JOBS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --fail-jobs) FAIL_JOBS=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --idle-duration) IDLE_DURATION=$2; shift ;;
    --systems) SYSTEMS=$2; shift ;;
    --update-docs) UPDATE_DOCS=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/bench/out
TMP=$(mktemp -d "${TMPDIR:-/tmp}/joblot-bench.XXXXXX")
REDIS_PID=""
cleanup() {
  if [[ -n $REDIS_PID ]]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '== %s\n' "$*" >&2; }

# ---- install what is missing -------------------------------------------------
[[ -x /usr/local/go/bin/go ]] && PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "compare.sh: needs Go (go.mod's version)" >&2; exit 1; }
SUDO=""; [[ $(id -u) != 0 ]] && SUDO=sudo
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v sidekiq >/dev/null || missing+=(ruby-sidekiq)
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  log "installing ${missing[*]} (Debian)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [[ ! -d $ROOT/bench/bullmq/node_modules/bullmq ]]; then
  log "installing BullMQ (npm ci in bench/bullmq)"
  (cd "$ROOT/bench/bullmq" && npm ci --no-audit --no-fund --loglevel=error)
fi

log "building drivers"
(cd "$ROOT/bench" && go build -o "$TMP/asynq-bench" ./asynq)
JOBLOT="$TMP/joblot" JOBLOT_NA=""
if ! (cd "$ROOT" && go build -o "$JOBLOT" ./cmd/joblot) 2>"$TMP/joblot-build.err"; then
  JOBLOT_NA="n/a: joblot CLI not built"
  log "$JOBLOT_NA ($(tail -n1 "$TMP/joblot-build.err"))"
fi

# ---- one private redis-server ------------------------------------------------
port=""
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[[ -n $port ]] || { echo "compare.sh: no free port" >&2; exit 1; }
redis-server --port "$port" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no \
  --maxmemory-policy noeviction --logfile "$TMP/redis.log" &
REDIS_PID=$!
URL="redis://127.0.0.1:$port/0"
rcli() { redis-cli -p "$port" "$@"; }
for _ in $(seq 100); do [[ $(rcli ping 2>/dev/null) == PONG ]] && break; sleep 0.1; done
[[ $(rcli ping) == PONG ]] || { echo "compare.sh: redis-server did not start" >&2; exit 1; }
log "redis-server $(redis-server --version | grep -o 'v=[^ ]*') on port $port (pid $REDIS_PID)"

# ---- drivers -----------------------------------------------------------------
display_name() {
  case $1 in
    joblot) echo "joblot" ;; joblot-batches) echo "joblot, batches of 10,000" ;;
    asynq) echo "asynq" ;; sidekiq) echo "Sidekiq" ;; bullmq) echo "BullMQ" ;;
  esac
}
# driver_cmd SYSTEM: sets CMD to the system's bench command; every one takes
# the flags of `joblot bench` and prints one JSON object.
driver_cmd() {
  case $1 in
    joblot|joblot-batches) CMD=("$JOBLOT" bench) ;;
    asynq) CMD=("$TMP/asynq-bench") ;;
    sidekiq) CMD=(ruby "$ROOT/bench/sidekiq/bench.rb") ;;
    bullmq) CMD=(node "$ROOT/bench/bullmq/bench.mjs") ;;
    *) echo "compare.sh: unknown system $1" >&2; exit 2 ;;
  esac
}
# Where each system keeps dead and retrying jobs (SCAN patterns).
dead_keys() {
  case $1 in joblot*) echo '{jl:q:*}:dead' ;; asynq) echo 'asynq:{*}:archived' ;; sidekiq) echo dead ;; bullmq) echo 'bull:*:failed' ;; esac
}
retry_keys() {
  case $1 in joblot*) echo '{jl:q:*}:retry' ;; asynq) echo 'asynq:{*}:retry' ;; sidekiq) echo retry ;; bullmq) echo 'bull:*:delayed' ;; esac
}
zcard_sum() {
  local total=0 key n
  while read -r key; do
    [[ -n $key ]] || continue
    n=$(rcli zcard "$key"); total=$((total + n))
  done < <(rcli --scan --pattern "$1")
  echo "$total"
}

mkdir -p "$OUT/logs"
RUNS=$OUT/runs.jsonl
: >"$RUNS"
# run_one SYSTEM RUN ROUND TIMEOUT ARGS...: one driver run on an empty Redis,
# logged as one record in $RUNS.
run_one() {
  local sys=$1 run=$2 round=$3 limit=$4; shift 4
  local name base rc=0 retained=0 err=""
  name=$(display_name "$sys")
  base=$OUT/logs/$sys-$run-$round
  rcli flushall >/dev/null
  log "$name: $run (round $round): $*"
  if [[ $sys == joblot* && -n $JOBLOT_NA ]]; then
    err=$JOBLOT_NA
  else
    driver_cmd "$sys"
    timeout -k 10 "$limit" "${CMD[@]}" "$@" >"$base.out" 2>"$base.err" || rc=$?
    if ((rc != 0)); then
      err="n/a: exit $rc: $(tail -n1 "$base.err" | tr -d '"\\[:cntrl:]' | cut -c1-160)"
    elif [[ ! -s $base.out ]]; then
      err="n/a: no JSON output"
    fi
    case $run in
      dead) retained=$(zcard_sum "$(dead_keys "$sys")") ;;
      retry) retained=$(zcard_sum "$(retry_keys "$sys")") ;;
    esac
  fi
  [[ -n $err ]] && log "$name: $err"
  printf '{"system":"%s","run":"%s","round":%d,"retained":%d,"error":"%s","result_file":"%s"}\n' \
    "$name" "$run" "$round" "$retained" "$err" "$base.out" >>"$RUNS"
}

# With both joblot systems selected, each batch round runs right after the
# plain round of the same number: the batch cost is a ratio of the two, and
# on a shared box rounds minutes apart meet different loads.
paired=0
[[ " $SYSTEMS " == *" joblot "* && " $SYSTEMS " == *" joblot-batches "* ]] && paired=1
batch_round() {
  run_one joblot-batches batch "$1" 900 --redis "$URL" --jobs "$JOBS" --batch-size 10000 --json
}
for sys in $SYSTEMS; do
  [[ $sys == joblot-batches ]] && ((paired)) && continue
  for round in $(seq "$ROUNDS"); do
    if [[ $sys == joblot-batches ]]; then
      batch_round "$round"
      continue
    fi
    run_one "$sys" throughput "$round" 900 --redis "$URL" --jobs "$JOBS" --json
    [[ $sys == joblot ]] && ((paired)) && batch_round "$round"
    run_one "$sys" dead "$round" 600 --redis "$URL" --jobs "$FAIL_JOBS" --fail-rate 1 --retries 0 --json
    run_one "$sys" retry "$round" 600 --redis "$URL" --jobs "$FAIL_JOBS" --fail-rate 1 --retries 25 --stop-when-retrying --json
  done
  [[ $sys == joblot-batches ]] && continue
  run_one "$sys" latency 1 300 latency --redis "$URL" --rate "$RATE" --duration "$DURATION" --json
  run_one "$sys" idle 1 300 idle --redis "$URL" --duration "$IDLE_DURATION" --json
done

# ---- report ------------------------------------------------------------------
versions=(
  "redis=$(redis-server --version | grep -o 'v=[^ ]*' | cut -d= -f2)"
  "go=$(go env GOVERSION)"
  "asynq=$(cd "$ROOT/bench" && go list -m -f '{{.Version}}' github.com/hibiken/asynq)"
  "ruby=$(ruby -e 'print RUBY_VERSION')"
  "sidekiq=$(ruby -rsidekiq -e 'print Sidekiq::VERSION')"
  "node=$(node --version)"
  "bullmq=$(node -p "require('$ROOT/bench/bullmq/node_modules/bullmq/package.json').version")"
  "joblot=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
)
report_args=(--runs "$RUNS" --out "$OUT" --command "$COMMAND" --jobs "$JOBS" --rounds "$ROUNDS")
for v in "${versions[@]}"; do report_args+=(--version "$v"); done
for sys in $SYSTEMS; do report_args+=(--system "$(display_name "$sys")"); done
((UPDATE_DOCS)) && report_args+=(--update-docs "$ROOT/BENCHMARKS.md" --chart bench/chart.png)
(cd "$ROOT/bench" && go run ./report "${report_args[@]}")
gnuplot -e "datafile='$OUT/chart.dat'; outfile='$OUT/chart.png'" "$ROOT/bench/chart.gp"
((UPDATE_DOCS)) && cp "$OUT/chart.png" "$ROOT/bench/chart.png"
log "wrote $OUT/results.json, $OUT/table.md, $OUT/chart.png"
