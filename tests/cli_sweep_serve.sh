#!/usr/bin/env bash
# `decodebench sweep --mode serve` and `--search` end to end on the sim backend: one row per load with
# the serve columns filled and the step columns empty; resume skips loads already run; the capacity
# search prints its result with the tolerance and the confirmation runs and writes one row per run;
# mode-specific flags are refused in the other mode (exit 2).
source "$(dirname "$0")/lib_cli.sh"

# expect_usage NAME SUBSTRING SWEEP-FLAGS...: exit code 2 and SUBSTRING in stderr.
expect_usage() {
  local name="$1" want="$2"
  shift 2
  expect_exit 2 "$name" "$want" "$DB" sweep "$@" --out "$TMP/u.csv"
}

require python3
# column NAME FILE: the values of a column (by header name; quoted fields hold commas), one per line
column() {
  python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[2])): print(r[sys.argv[1]])' "$1" "$2"
}

SERVE=(sweep --mode serve --backend sim --model llama2-7b --rate 1,4 --concurrency 2 --duration 5s
  --requests 30 --prompt-len fixed:64 --output-len fixed:16 --slo ttft:500ms,tpot:50ms --quiet)
"$DB" "${SERVE[@]}" --out "$TMP/s.csv" || fail "serve sweep exited $?"
[ "$(tail -n +2 "$TMP/s.csv" | wc -l)" -eq 3 ] || fail "expected 3 rows"
[ "$(column mode "$TMP/s.csv" | sort -u)" = "serve" ] || fail "mode column: $(column mode "$TMP/s.csv")"
[ "$(column batch "$TMP/s.csv" | sort -u)" = "" ] || fail "step columns are not empty in serve rows"
column slo_attainment "$TMP/s.csv" | grep -qx 1 || fail "no row met every SLO at low load"
[ "$(column concurrency "$TMP/s.csv" | grep -c .)" -eq 1 ] || fail "one concurrency row expected"
# resume: drop the last row, rerun: one load runs again
head -3 "$TMP/s.csv" >"$TMP/p.csv"
"$DB" sweep --mode serve --backend sim --model llama2-7b --rate 1,4 --concurrency 2 --duration 5s \
  --requests 30 --prompt-len fixed:64 --output-len fixed:16 --slo ttft:500ms,tpot:50ms \
  --out "$TMP/p.csv" --resume >"$TMP/out" || fail "serve resume exited $?"
grep -q "1 run (0 failed), 2 already in" "$TMP/out" || fail "resume: $(cat "$TMP/out")"
sort "$TMP/p.csv" >"$TMP/a" && sort "$TMP/s.csv" >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "resumed serve sweep differs from the whole sweep"

# ---- capacity search ---------------------------------------------------------------------------------
"$DB" sweep --mode serve --search --backend sim --model llama2-7b --slo ttft:200ms,tpot:20ms \
  --target 0.95 --rate-lo 4 --rate-hi 64 --duration 5s --repeats 2 --out "$TMP/c.csv" >"$TMP/out" ||
  fail "search exited $?"
grep -Eq '^capacity bf16 kv bf16 \(SLO ttft:200ms,tpot:20ms, attainment >= 95%\): [0-9.]+ requests/s \(misses at [0-9.]+; tolerance 5%\)' \
  "$TMP/out" || fail "search output: $(cat "$TMP/out")"
grep -q 'confirmed by [0-2] of 2 runs with other seeds' "$TMP/out" || fail "no confirmation: $(cat "$TMP/out")"
probes=$(sed -n 's/.*; \([0-9]*\) probes$/\1/p' "$TMP/out")
[ "$(tail -n +2 "$TMP/c.csv" | wc -l)" -eq $((probes + 2)) ] || fail "rows != probes + repeats"
[ "$(column mode "$TMP/c.csv" | sort -u)" = "search" ] || fail "search rows are not mode search"

# ---- mode-specific flags --------------------------------------------------------------------------
expect_usage "batch in serve" "--batch applies to --mode step" --mode serve --rate 1 --batch 4
expect_usage "rate in step" "--rate applies to --mode serve" --rate 1
expect_usage "serve without load" "needs --rate LIST, --concurrency LIST or --search" --mode serve
expect_usage "search without slo" "--search needs --slo" --mode serve --search
expect_usage "search with rate" "--search chooses the rates itself" --mode serve --search --rate 1 \
  --slo ttft:1s
expect_usage "bad slo" "--slo:" --mode serve --rate 1 --slo ttft:200
expect_usage "bad rate" "--rate: range '4..1' runs backwards" --mode serve --rate 4..1
expect_usage "bad target" "--target expects a number" --mode serve --search --slo ttft:1s --target 2

finish
