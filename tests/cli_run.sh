#!/usr/bin/env bash
# `decodebench run` end to end through the binary, on the sim backend (virtual clock, deterministic) and
# briefly on the cpu backend for signal handling: outputs exist and parse, --help documents every flag,
# bad flags exit 2 naming the flag, a bad trace path names the file, the schedule dump, determinism,
# latency.hlog intervals (--hlog-interval), requests.csv's preemption counts against the run's total,
# SIGTERM writes a partial run marked complete=false and exits 143.
source "$(dirname "$0")/lib_cli.sh"

# expect_usage NAME SUBSTRING ARGS...: exit code 2 and SUBSTRING in stderr.
expect_usage() {
  local name="$1" want="$2"
  shift 2
  expect_exit 2 "$name" "$want" "$DB" run --backend sim --out "$TMP/usage" "$@"
}

# json_get FILE KEY: the value of a top-level key (python3 when present, else a plain grep).
json_get() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(str(v).lower() if isinstance(v,bool) else v)' "$1" "$2"
  else
    sed -n "s/^ *\"$2\": *\\([^,]*\\),\\{0,1\\}\$/\\1/p" "$1" | head -1
  fi
}

# ---- help ----------------------------------------------------------------------------------------
"$DB" run --help >"$TMP/help" 2>&1 || fail "--help exited non-zero"
for flag in --backend --model --layers --precision --kv-dtype --device --workload --prompt-len \
  --output-len --trace-format --arrival --requests --duration --warmup --cooldown --seed --slo --out \
  --max-batch --max-batch-tokens --prefill-chunk --kv-tokens --kv-mem --batching --threads \
  --dump-schedule --quiet --clamp-context --hlog-interval; do
  grep -qF -- "$flag" "$TMP/help" || fail "--help does not document $flag"
done
grep -q "default" "$TMP/help" || fail "--help states no defaults"

# ---- a sim run: outputs exist and parse ------------------------------------------------------------
OUT="$TMP/sim"
"$DB" run --backend sim --model llama2-7b --prompt-len uniform:64:512 --output-len uniform:16:128 \
  --arrival poisson:20 --requests 200 --seed 7 --warmup 10req --slo ttft:500ms,tpot:50ms \
  --dump-schedule "$TMP/schedule.csv" --out "$OUT" >"$TMP/stdout" 2>"$TMP/stderr"
rc=$?
[ "$rc" -eq 0 ] || fail "sim run exited $rc: $(cat "$TMP/stderr")"
for f in summary.json requests.csv steps.csv latency.hlog ttft.hgrm tpot.hgrm itl.hgrm e2e.hgrm; do
  [ -s "$OUT/$f" ] || fail "sim run did not write $f"
done
grep -qF "Outputs: $OUT/" "$TMP/stdout" || fail "the run does not say where its outputs are"
grep -q "TTFT" "$TMP/stdout" || fail "no terminal summary"
if command -v python3 >/dev/null 2>&1; then
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT/summary.json" ||
    fail "summary.json does not parse"
fi
[ "$(json_get "$OUT/summary.json" complete)" = "true" ] || fail "summary.json: complete is not true"
# 200 arrived, the first 10 are warmup: 190 counted, all completed
[ "$(json_get "$OUT/summary.json" completed)" = "190" ] ||
  fail "summary.json: completed = $(json_get "$OUT/summary.json" completed), expected 190"
# requests.csv: a header and one line per request
[ "$(wc -l <"$OUT/requests.csv")" -eq 201 ] || fail "requests.csv has $(wc -l <"$OUT/requests.csv") lines, expected 201"
# the dumped schedule: a header and 200 items
head -1 "$TMP/schedule.csv" | grep -q "arrival_s,prompt_tokens,output_tokens" ||
  fail "--dump-schedule: no native header"
[ "$(wc -l <"$TMP/schedule.csv")" -eq 201 ] || fail "--dump-schedule: expected 201 lines"

# ---- determinism: the same flags on the virtual clock give the same requests, byte for byte -------
"$DB" run --backend sim --model llama2-7b --prompt-len uniform:64:512 --output-len uniform:16:128 \
  --arrival poisson:20 --requests 200 --seed 7 --warmup 10req --slo ttft:500ms,tpot:50ms \
  --out "$TMP/sim2" --quiet >/dev/null 2>&1 || fail "second sim run failed"
cmp -s "$OUT/requests.csv" "$TMP/sim2/requests.csv" || fail "two identical sim runs differ in requests.csv"

# ---- replaying a native trace written by --dump-schedule gives the same requests (arrivals and
# lengths; later times may differ by a nanosecond, the dump's resolution) ---------------------------
"$DB" run --backend sim --model llama2-7b --workload "$TMP/schedule.csv" --arrival trace \
  --seed 7 --warmup 10req --out "$TMP/sim3" --quiet >/dev/null 2>"$TMP/err3" ||
  fail "replaying the dumped schedule failed: $(cat "$TMP/err3")"
cmp -s <(cut -d, -f1-6 "$OUT/requests.csv") <(cut -d, -f1-6 "$TMP/sim3/requests.csv") ||
  fail "the replayed schedule differs in requests.csv (id, arrival, lengths, status)"

# ---- static batching and a closed loop cut by --duration also run to completion ------------------
"$DB" run --backend sim --model llama2-7b --batching static --max-batch 8 --prompt-len fixed:256 \
  --output-len fixed:64 --arrival concurrency:8 --requests 100000 --duration 5s --out "$TMP/static" \
  --quiet >/dev/null 2>"$TMP/static.err" || fail "static closed-loop run failed: $(cat "$TMP/static.err")"
[ "$(json_get "$TMP/static/summary.json" complete)" = "true" ] || fail "static run: complete is not true"
[ "$(json_get "$TMP/static/summary.json" in_flight)" = "0" ] || fail "static run: requests left in flight"
# a batch of 8 (256 prompt + 64 output tokens of llama2-7b) takes about 0.3 s of modelled time, so 5 s
# issue a few hundred requests at most, far from the 100000 scheduled
n_static=$(json_get "$TMP/static/summary.json" completed)
[ "$n_static" -ge 8 ] && [ "$n_static" -lt 1000 ] || fail "static run: $n_static completed, expected 8..999"

# ---- latency.hlog: a time series of 1 s intervals by default, --hlog-interval sets the length,
# 'window' writes one interval per metric ----------------------------------------------------------
# interval lengths (column 2 of the interval lines) of a log, one per line, unique
hlog_lengths() { grep '^Tag=' "$1" | cut -d, -f3 | sort -u | tr '\n' ' '; }
n_ttft=$(grep -c '^Tag=TTFT,' "$OUT/latency.hlog")
[ "$n_ttft" -gt 2 ] || fail "default latency.hlog: $n_ttft TTFT intervals, expected a time series"
# 190 requests at 20/s last about 10 s: 1.000 s intervals, the last one shorter
case "$(hlog_lengths "$OUT/latency.hlog")" in
  1.000\ *|*\ 1.000\ *) ;;
  *) fail "default latency.hlog: interval lengths $(hlog_lengths "$OUT/latency.hlog"), expected 1.000" ;;
esac
"$DB" run --backend sim --model llama2-7b --prompt-len uniform:64:512 --output-len uniform:16:128 \
  --arrival poisson:20 --requests 200 --seed 7 --warmup 10req --slo ttft:500ms,tpot:50ms --hlog-interval 250ms \
  --out "$TMP/quarter" --quiet >/dev/null 2>"$TMP/quarter.err" ||
  fail "--hlog-interval 250ms run failed: $(cat "$TMP/quarter.err")"
grep -q '^Tag=E2E,[0-9.]*,0\.250,' "$TMP/quarter/latency.hlog" ||
  fail "--hlog-interval 250ms: no E2E interval of length 0.250"
n_quarter=$(grep -c '^Tag=TTFT,' "$TMP/quarter/latency.hlog")
[ "$n_quarter" -gt "$n_ttft" ] || fail "--hlog-interval 250ms: $n_quarter TTFT intervals, not more than at 1 s ($n_ttft)"
# summary.json is the same run's but for the command line and the wall-clock facts
wall_facts=(-e '"command_line"' -e '"date"' -e '"start_epoch_s"' -e '"wall_s"' -e 'host_overhead')
diff <(grep -v "${wall_facts[@]}" "$OUT/summary.json") \
  <(grep -v "${wall_facts[@]}" "$TMP/quarter/summary.json") >"$TMP/quarter.diff" ||
  fail "--hlog-interval changed summary.json: $(cat "$TMP/quarter.diff")"
"$DB" run --backend sim --model llama2-7b --requests 50 --hlog-interval window --out "$TMP/window" \
  --quiet >/dev/null 2>&1 || fail "--hlog-interval window run failed"
[ "$(grep -c '^Tag=' "$TMP/window/latency.hlog")" -eq 5 ] ||
  fail "--hlog-interval window: expected one line per tag (5)"

# ---- requests.csv: preemptions (last column) add up to the run's total; a small KV cache forces them
"$DB" run --backend sim --model llama2-7b --kv-tokens 4096 --prompt-len uniform:200:400 \
  --output-len uniform:100:300 --arrival poisson:30 --requests 200 --seed 3 --out "$TMP/preempt" \
  --quiet >/dev/null 2>"$TMP/preempt.err" || fail "small-KV run failed: $(cat "$TMP/preempt.err")"
head -1 "$TMP/preempt/requests.csv" | grep -q ',failure_reason,preemptions$' ||
  fail "requests.csv header does not end with failure_reason,preemptions"
if command -v python3 >/dev/null 2>&1; then
  python3 - "$TMP/preempt" <<'PY' || fail "requests.csv preemptions do not add up to summary.json's"
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/requests.csv")))
total = json.load(open(d + "/summary.json"))["environment"]["preemptions"]
col = sum(int(r["preemptions"]) for r in rows)
print("preemptions: requests.csv %d, summary.json %d" % (col, total))
sys.exit(0 if col == total and total > 0 else 1)
PY
fi

# ---- usage errors name the flag -----------------------------------------------------------------
expect_usage "unknown flag" "--bogus" --bogus 1
expect_usage "bad backend" "--backend" --backend tpu
expect_usage "max-batch 0" "--max-batch" --max-batch 0
expect_usage "tokens below batch" "--max-batch-tokens" --max-batch 64 --max-batch-tokens 8
expect_usage "bad warmup" "--warmup" --warmup 3x
expect_usage "bad precision" "--precision" --precision fp6
expect_usage "both KV sizes" "--kv-tokens" --kv-tokens 4096 --kv-mem 1GiB
expect_usage "missing value" "--seed" --seed
expect_usage "bad model" "--model" --model no-such-model
expect_usage "bad slo" "--slo" --slo ttft:fast
expect_usage "bad batching" "--batching" --batching dynamic
expect_usage "hlog interval not a duration" "--hlog-interval" --hlog-interval often
expect_usage "hlog interval below 1ms" "--hlog-interval expects a whole number of milliseconds" --hlog-interval 500us
expect_usage "hlog interval in part-ms" "--hlog-interval expects a whole number of milliseconds" --hlog-interval 2.5ms
expect_usage "hlog interval zero" "--hlog-interval expects a whole number of milliseconds" --hlog-interval 0s
expect_usage "hlog interval above 24h" "--hlog-interval expects a whole number of milliseconds" --hlog-interval 25h
expect_usage "bad prompt-len" "--prompt-len" --prompt-len gauss:3
expect_usage "device off sim" "--device" --backend cpu --device h100-sxm
expect_usage "positional" "unexpected argument" extra
expect_usage "unwritable schedule dump" "--dump-schedule" --dump-schedule "$TMP/no/such/dir/s.csv"
: >"$TMP/a-file"
expect_usage "output below a file" "--out" --out "$TMP/a-file/run"

# ---- a bad trace path names the file ---------------------------------------------------------------
expect_usage "missing trace" "$TMP/no/such/trace.csv" --workload "$TMP/no/such/trace.csv"

# ---- SIGTERM: the run stops at a step boundary, writes what it measured, exits 143 ---------------
"$DB" run --backend cpu --model tiny --threads 1 --prompt-len fixed:64 --output-len fixed:64 \
  --arrival poisson:20 --requests 100000 --out "$TMP/term" --quiet >/dev/null 2>"$TMP/term.err" &
pid=$!
sleep 2
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 143 ] || fail "SIGTERM: exit $rc, expected 143 ($(cat "$TMP/term.err"))"
[ -s "$TMP/term/summary.json" ] || fail "SIGTERM: no summary.json"
[ "$(json_get "$TMP/term/summary.json" complete)" = "false" ] || fail "SIGTERM: complete is not false"

finish
