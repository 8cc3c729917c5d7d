#!/usr/bin/env bash
# decodebench gate end to end on hand-written summary.json files: exit codes 0 (pass), 1 (regression
# or changed), 2 (usage, bad input, fingerprint mismatch), 3 (inconclusive); JUnit XML well-formed with
# one testcase per metric; markdown written; --save round trip; sweep CSV with --key.
source "$(dirname "$0")/lib_cli.sh"

# summary DIR TPUT TTFT TOKENS [PRECISION] [COMPLETE]: a run directory with a minimal summary.json
summary() {
  mkdir -p "$1"
  cat > "$1/summary.json" <<EOF
{"schema_version": 1, "complete": ${6:-true}, "command_line": "run --backend cpu --seed 1",
 "start_epoch_s": $RANDOM, "output_throughput": $2, "p99_ttft_ms": $3,
 "total_output_tokens": $4, "mean_ttft_ms": null,
 "environment": {"backend": "cpu", "device": "test-cpu", "model": "tiny",
                 "precision": "${5:-fp32}", "git_commit": "commit-$RANDOM"}}
EOF
}

junit_ok() { # junit_ok FILE TESTS FAILURES SKIPPED: parses and counts with the standard library
  python3 - "$@" <<'EOF'
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
cases = doc.getElementsByTagName("testcase")
fail = doc.getElementsByTagName("failure")
skip = doc.getElementsByTagName("skipped")
got = (len(cases), len(fail), len(skip))
want = tuple(int(x) for x in sys.argv[2:5])
suite = doc.getElementsByTagName("testsuite")[0]
attrs = (int(suite.getAttribute("tests")), int(suite.getAttribute("failures")),
         int(suite.getAttribute("skipped")))
if got != want or attrs != want:
    sys.exit(f"junit counts {got}, attributes {attrs}, expected {want}")
EOF
}

# Baseline: 6 runs, throughput ~1000 and p99 TTFT ~50 ms with under 1% spread; 4096 tokens each.
tputs=(1000 1004 997 1002 999 1006)
ttfts=(50.0 50.3 49.8 50.1 50.4 49.9)
for i in 0 1 2 3 4 5; do
  summary "$TMP/base/r$i" "${tputs[$i]}" "${ttfts[$i]}" 4096
  summary "$TMP/same/r$i" "$(( ${tputs[$i]} + 1 ))" "${ttfts[$i]}" 4096
  summary "$TMP/slow/r$i" "$(( ${tputs[$i]} * 80 / 100 ))" "${ttfts[$i]}" 4096
  summary "$TMP/int4/r$i" "${tputs[$i]}" "${ttfts[$i]}" 4096 int4
  summary "$TMP/tokens/r$i" "${tputs[$i]}" "${ttfts[$i]}" 4100
done
base=("$TMP"/base/r*)

# ---- usage -----------------------------------------------------------------------------------------
expect 0 "--help" -- "$DB" gate --help
expect 2 "no arguments" -- "$DB" gate
expect 2 "unknown flag" -- "$DB" gate --baseline "${base[0]}" --frobnicate 1 "$TMP/same/r0"
expect 2 "a switch given a value" -- "$DB" gate --quiet=yes --baseline "${base[0]}" "$TMP/same/r0"
expect 2 "rule without a sign" -- "$DB" gate --rule output_throughput:5% --baseline "${base[0]}" "$TMP/same/r0"
check "the rule message names the flag" grep -q -- "--rule" "$TMP/err"
expect 2 "rule for a metric nobody reports" -- "$DB" gate --rule output_thruput:-5% \
  --baseline "${base[0]}" "$TMP/same/r0"
expect 2 "missing input file" -- "$DB" gate --baseline "$TMP/nope.json" "$TMP/same/r0"
check "the message names the file" grep -q "nope.json" "$TMP/err"
summary "$TMP/partial" 1000 50 4096 fp32 false
expect 2 "an interrupted run is refused" -- "$DB" gate --baseline "${base[0]}" "$TMP/partial"

# ---- verdicts --------------------------------------------------------------------------------------
bflags=()
for b in "${base[@]}"; do bflags+=(--baseline "$b"); done

expect 0 "a directory of run directories is every run in it" -- "$DB" gate --baseline "$TMP/base" \
  "$TMP/same"
check "... six runs a side" grep -q "6/6" "$TMP/out"
expect 0 "unchanged results pass" -- "$DB" gate "${bflags[@]}" "$TMP"/same/r* \
  --junit "$TMP/pass.xml" --markdown "$TMP/pass.md"
check "pass: JUnit well-formed, 3 testcases, no failure" junit_ok "$TMP/pass.xml" 3 0 0
check "pass: markdown table written" grep -q "| point | metric |" "$TMP/pass.md"

expect 1 "a 20% throughput drop is a regression" -- "$DB" gate "${bflags[@]}" "$TMP"/slow/r* \
  --junit "$TMP/slow.xml"
check "regression: JUnit has one failure" junit_ok "$TMP/slow.xml" 3 1 0
check "regression: the table says so" grep -q "Overall: REGRESSION" "$TMP/out"

expect 3 "two runs a side are inconclusive" -- "$DB" gate --baseline "${base[0]}" \
  --baseline "${base[1]}" "$TMP/same/r0" "$TMP/same/r1" --junit "$TMP/inc.xml"
check "inconclusive: JUnit skips the undecided metrics" junit_ok "$TMP/inc.xml" 2 0 2
check "inconclusive: says how many runs would decide" grep -q "need ~4 runs a side" "$TMP/out"

expect 1 "a changed token count is caught exactly" -- "$DB" gate "${bflags[@]}" "$TMP"/tokens/r*
check "changed: both values shown" grep -q "4096 -> 4100" "$TMP/out"

# ---- fingerprint -----------------------------------------------------------------------------------
expect 2 "a different precision is refused" -- "$DB" gate "${bflags[@]}" "$TMP"/int4/r*
check "mismatch: the field and both values are listed" grep -q "precision.*'fp32'.*'int4'" "$TMP/err"
expect 0 "--allow-mismatch compares anyway" -- "$DB" gate --allow-mismatch "${bflags[@]}" "$TMP"/int4/r*
check "mismatch allowed: warned in the table" grep -q "warning: fingerprint field precision" "$TMP/out"
expect 0 "--must-match without precision accepts it" -- "$DB" gate --must-match backend,model \
  "${bflags[@]}" "$TMP"/int4/r*

# ---- baseline file ---------------------------------------------------------------------------------
expect 0 "--save writes a baseline file" -- "$DB" gate --save "$TMP/baseline.json" "${base[@]}"
check "the baseline file is JSON with 6 samples" python3 -c "
import json, sys
b = json.load(open('$TMP/baseline.json'))
assert b['format'] == 'decodebench-gate-baseline' and b['version'] == 1
assert len(b['points'][0]['metrics']['output_throughput']) == 6
assert len(b['environments']) == 6"
expect 1 "the saved baseline gives the same verdict" -- "$DB" gate --baseline "$TMP/baseline.json" "$TMP"/slow/r*
expect 0 "... and passes the unchanged runs" -- "$DB" gate --baseline "$TMP/baseline.json" "$TMP"/same/r*

# ---- sweep CSV -------------------------------------------------------------------------------------
{
  echo "batch,precision,output_throughput,p99_ttft_ms"
  for i in 0 1 2 3 4 5; do
    echo "1,bf16,${tputs[$i]},${ttfts[$i]}"
    echo "8,bf16,$(( ${tputs[$i]} * 6 )),${ttfts[$i]}"
  done
} > "$TMP/base.csv"
sed 's/^8,bf16,\([0-9]*\),/8,bf16,\1,9/' "$TMP/base.csv" > "$TMP/cur.csv" # batch 8: TTFT x ~190
expect 2 "a CSV needs --key" -- "$DB" gate --baseline "$TMP/base.csv" "$TMP/cur.csv"
expect 1 "sweep: the regressed point is found" -- "$DB" gate --key batch,precision \
  --baseline "$TMP/base.csv" "$TMP/cur.csv" --junit "$TMP/sweep.xml"
check "sweep: 4 testcases, 1 failure" junit_ok "$TMP/sweep.xml" 4 1 0
check "sweep: the failing point is batch 8" grep -q "batch=8,precision=bf16 *p99_ttft_ms.*REGRESSION" "$TMP/out"

finish
