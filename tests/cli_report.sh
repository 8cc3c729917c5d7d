#!/usr/bin/env bash
# `decodebench report` end to end: a sim step sweep gives roofline, step-time and throughput charts
# (PNG + SVG) and report.md with the crossover table; a sim run directory gives the latency charts
# (by percentile, over time) and tables; a single-interval latency.hlog gets no time chart and a note;
# a corrupt or missing latency.hlog, missing inputs and unknown flags exit 2. Skipped without gnuplot.
source "$(dirname "$0")/lib_cli.sh"
require gnuplot

is_png() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = "211PNG" ]; }

# ---- a sweep directory -----------------------------------------------------------------------------
mkdir -p "$TMP/sw"
"$DB" sweep --backend sim --model llama3-8b --precision bf16,int8 --batch 8..1024+8 --context 128 \
  --warmup-steps 1 --steps 2 --quiet --out "$TMP/sw/sweep.csv" || fail "sweep exited $?"
"$DB" report "$TMP/sw" >"$TMP/out" 2>&1 || fail "report exited $?: $(cat "$TMP/out")"
for c in roofline step_time throughput; do
  is_png "$TMP/sw/$c.png" || fail "$c.png is not a PNG"
  grep -q '<svg' "$TMP/sw/$c.svg" || fail "$c.svg is not an SVG"
  [ -s "$TMP/sw/plots/$c.gp" ] || fail "no script for $c"
done
md="$TMP/sw/report.md"
grep -q 'datasheet' "$md" || fail "report.md does not say the ceilings are datasheet figures"
# sim: the measured knee is within 1% of the prediction (348.3 for bf16, 174.3 for int8)
grep -Eq '^\| bf16 kv bf16 ctx 128 \| 348\.3 \| 34[89]\.[0-9] \(hinge\) \| 1\.00[0-9] \|' "$md" ||
  fail "bf16 crossover row: $(grep 'bf16 kv' "$md" | head -1)"
grep -Eq '^\| int8 kv bf16 ctx 128 \| 174\.3 \| 17[3-6]\.[0-9] \(hinge\) \| 1\.0[01][0-9] \|' "$md" || fail "int8 crossover row"
grep -q '!\[roofline\](roofline.png)' "$md" || fail "report.md does not embed the roofline"
grep -q 'datasheet ceilings' "$TMP/sw/plots/roofline.gp" || fail "roofline title lacks the source"

# ---- a serve sweep and a capacity search, merged ------------------------------------------------------
mkdir -p "$TMP/sv"
"$DB" sweep --mode serve --backend sim --model llama2-7b --rate 2,8 --concurrency 1,4 --duration 5s \
  --slo ttft:300ms,tpot:30ms --quiet --out "$TMP/sv/a.csv" || fail "serve sweep exited $?"
"$DB" sweep --mode serve --search --backend sim --model llama2-7b --slo ttft:300ms,tpot:30ms \
  --rate-lo 8 --rate-hi 64 --duration 5s --repeats 1 --quiet --out "$TMP/sv/b.csv" || fail "search $?"
"$DB" merge --quiet "$TMP/sv/sweep.csv" "$TMP/sv/a.csv" "$TMP/sv/b.csv" || fail "merge exited $?"
"$DB" report "$TMP/sv" --quiet || fail "serve report exited $?"
for c in pareto goodput; do is_png "$TMP/sv/$c.png" || fail "$c.png is not a PNG"; done
[ ! -e "$TMP/sv/roofline.png" ] || fail "a roofline was drawn without step points"
grep -q '^## Serve runs — SLO ttft:300ms,tpot:30ms' "$TMP/sv/report.md" || fail "no serve section"
grep -q '^## Capacity-search runs' "$TMP/sv/report.md" || fail "no search section"
grep -q '★' "$TMP/sv/report.md" || fail "no Pareto-optimal run marked"

# ---- a run directory --------------------------------------------------------------------------------
# 400 requests at 20/s: ~20 s of run, so latency.hlog holds ~20 intervals of 1 s per latency.
"$DB" run --backend sim --model llama2-7b --requests 400 --arrival poisson:20 --quiet \
  --out "$TMP/run" >/dev/null 2>&1 || fail "run exited $?"
"$DB" report "$TMP/run" --out "$TMP/rep" --quiet || fail "report of a run exited $?"
is_png "$TMP/rep/latency_cdf.png" || fail "latency_cdf.png is not a PNG"
grep -q '| ttft_ms |' "$TMP/rep/report.md" || fail "no latency table"
grep -q '!\[latency by percentile\](latency_cdf.png)' "$TMP/rep/report.md" || fail "no latency chart"
is_png "$TMP/rep/latency_time.png" || fail "latency_time.png is not a PNG"
grep -q '<svg' "$TMP/rep/latency_time.svg" || fail "latency_time.svg is not an SVG"
n_ttft=$(grep -c '^Tag=TTFT,' "$TMP/run/latency.hlog")
[ "$n_ttft" -ge 10 ] || fail "latency.hlog has only $n_ttft TTFT intervals"
# the data file has one row per TTFT interval (its first block), as many as the log has lines
n_rows=$(awk '/^# TTFT/{on=1; next} /^# /{on=0} on && NF==5' "$TMP/rep/plots/latency_time.dat" | wc -l)
[ "$n_rows" -eq "$n_ttft" ] || fail "latency_time.dat: $n_rows TTFT rows for $n_ttft intervals"
grep -q '^### Latency over time' "$TMP/rep/report.md" || fail "no latency-over-time section"
grep -Eq '^\| TTFT \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|' "$TMP/rep/report.md" ||
  fail "no TTFT row in the latency-over-time table"
grep -q '!\[latency over time\](latency_time.png)' "$TMP/rep/report.md" || fail "latency_time not embedded"

# one interval per latency: no time series, report.md says why
"$DB" run --backend sim --model llama2-7b --requests 50 --hlog-interval window --quiet \
  --out "$TMP/win" >/dev/null 2>&1 || fail "--hlog-interval window run exited $?"
"$DB" report "$TMP/win" --quiet || fail "report of a window run exited $?"
[ ! -e "$TMP/win/latency_time.png" ] || fail "latency_time.png drawn from a single-interval log"
grep -q '^> No latency-over-time chart or table: latency.hlog holds a single interval' \
  "$TMP/win/report.md" || fail "report.md does not say why there is no latency-over-time chart"

# a corrupt latency.hlog is named with its line (exit 2); the rest of report.md is still written
cp -r "$TMP/run" "$TMP/bad"
printf 'Tag=TTFT,1.000,1.000\n' >>"$TMP/bad/latency.hlog"
bad_line=$(wc -l <"$TMP/bad/latency.hlog")
expect_exit 2 "corrupt latency.hlog" "$TMP/bad/latency.hlog:$bad_line: expected 4 comma-separated" \
  "$DB" report "$TMP/bad" --quiet
grep -q '| ttft_ms |' "$TMP/bad/report.md" || fail "corrupt latency.hlog: no latency table"
grep -q "^> Not available: .*latency.hlog:$bad_line:" "$TMP/bad/report.md" ||
  fail "corrupt latency.hlog: report.md does not name it"
rm "$TMP/bad/latency.hlog"
expect_exit 2 "missing latency.hlog" "cannot open '$TMP/bad/latency.hlog': No such file" \
  "$DB" report "$TMP/bad" --quiet

# ---- usage errors ------------------------------------------------------------------------------------
mkdir -p "$TMP/empty"
"$DB" report "$TMP/empty" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] || fail "empty dir: expected exit 2"
grep -q "nothing to report" "$TMP/err" || fail "empty dir message: $(cat "$TMP/err")"
"$DB" report "$TMP/sw" --bogus >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] || fail "unknown flag: expected exit 2"
printf 'a,b\n1,2\n' >"$TMP/bad.csv"
"$DB" report --sweep "$TMP/bad.csv" --out "$TMP/o2" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] || fail "foreign CSV: expected exit 2"
grep -q "not a sweep CSV" "$TMP/err" || fail "foreign CSV message: $(cat "$TMP/err")"
"$DB" report --help | grep -q -- '--sweep' || fail "--help lacks --sweep"

finish
