#!/usr/bin/env bash
# decodebench gate end to end on hand-written summary.json files: exit codes 0 (pass), 1 (regression
# or changed), 2 (usage, bad input, fingerprint mismatch), 3 (inconclusive); JUnit XML well-formed with
# one testcase per metric; markdown written; --save round trip; sweep CSV with --key.
set -u
DB=${DECODEBENCH:?DECODEBENCH must name the decodebench binary}
work=$(mktemp -d "${TMPDIR:-/tmp}/cli_gate.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0

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

# expect CODE DESCRIPTION -- COMMAND...: runs the command, compares the exit code
expect() {
  local want=$1 what=$2
  shift 3
  "$@" >"$work/out.txt" 2>"$work/err.txt"
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"
    sed 's/^/  stdout: /' "$work/out.txt" | head -20
    sed 's/^/  stderr: /' "$work/err.txt" | head -20
    fails=$((fails + 1))
  else
    echo "ok: $what (exit $got)"
  fi
}

check() { # check DESCRIPTION COMMAND...: a condition on the last outputs
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
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
  summary "$work/base/r$i" "${tputs[$i]}" "${ttfts[$i]}" 4096
  summary "$work/same/r$i" "$(( ${tputs[$i]} + 1 ))" "${ttfts[$i]}" 4096
  summary "$work/slow/r$i" "$(( ${tputs[$i]} * 80 / 100 ))" "${ttfts[$i]}" 4096
  summary "$work/int4/r$i" "${tputs[$i]}" "${ttfts[$i]}" 4096 int4
  summary "$work/tokens/r$i" "${tputs[$i]}" "${ttfts[$i]}" 4100
done
base=("$work"/base/r*)

# ---- usage -----------------------------------------------------------------------------------------
expect 0 "--help" -- "$DB" gate --help
expect 2 "no arguments" -- "$DB" gate
expect 2 "unknown flag" -- "$DB" gate --baseline "${base[0]}" --frobnicate 1 "$work/same/r0"
expect 2 "a switch given a value" -- "$DB" gate --quiet=yes --baseline "${base[0]}" "$work/same/r0"
expect 2 "rule without a sign" -- "$DB" gate --rule output_throughput:5% --baseline "${base[0]}" "$work/same/r0"
check "the rule message names the flag" grep -q -- "--rule" "$work/err.txt"
expect 2 "rule for a metric nobody reports" -- "$DB" gate --rule output_thruput:-5% \
  --baseline "${base[0]}" "$work/same/r0"
expect 2 "missing input file" -- "$DB" gate --baseline "$work/nope.json" "$work/same/r0"
check "the message names the file" grep -q "nope.json" "$work/err.txt"
summary "$work/partial" 1000 50 4096 fp32 false
expect 2 "an interrupted run is refused" -- "$DB" gate --baseline "${base[0]}" "$work/partial"

# ---- verdicts --------------------------------------------------------------------------------------
bflags=()
for b in "${base[@]}"; do bflags+=(--baseline "$b"); done

expect 0 "a directory of run directories is every run in it" -- "$DB" gate --baseline "$work/base" \
  "$work/same"
check "... six runs a side" grep -q "6/6" "$work/out.txt"
expect 0 "unchanged results pass" -- "$DB" gate "${bflags[@]}" "$work"/same/r* \
  --junit "$work/pass.xml" --markdown "$work/pass.md"
check "pass: JUnit well-formed, 3 testcases, no failure" junit_ok "$work/pass.xml" 3 0 0
check "pass: markdown table written" grep -q "| point | metric |" "$work/pass.md"

expect 1 "a 20% throughput drop is a regression" -- "$DB" gate "${bflags[@]}" "$work"/slow/r* \
  --junit "$work/slow.xml"
check "regression: JUnit has one failure" junit_ok "$work/slow.xml" 3 1 0
check "regression: the table says so" grep -q "Overall: REGRESSION" "$work/out.txt"

expect 3 "two runs a side are inconclusive" -- "$DB" gate --baseline "${base[0]}" \
  --baseline "${base[1]}" "$work/same/r0" "$work/same/r1" --junit "$work/inc.xml"
check "inconclusive: JUnit skips the undecided metrics" junit_ok "$work/inc.xml" 2 0 2
check "inconclusive: says how many runs would decide" grep -q "need ~4 runs a side" "$work/out.txt"

expect 1 "a changed token count is caught exactly" -- "$DB" gate "${bflags[@]}" "$work"/tokens/r*
check "changed: both values shown" grep -q "4096 -> 4100" "$work/out.txt"

# ---- fingerprint -----------------------------------------------------------------------------------
expect 2 "a different precision is refused" -- "$DB" gate "${bflags[@]}" "$work"/int4/r*
check "mismatch: the field and both values are listed" grep -q "precision.*'fp32'.*'int4'" "$work/err.txt"
expect 0 "--allow-mismatch compares anyway" -- "$DB" gate --allow-mismatch "${bflags[@]}" "$work"/int4/r*
check "mismatch allowed: warned in the table" grep -q "warning: fingerprint field precision" "$work/out.txt"
expect 0 "--must-match without precision accepts it" -- "$DB" gate --must-match backend,model \
  "${bflags[@]}" "$work"/int4/r*

# ---- baseline file ---------------------------------------------------------------------------------
expect 0 "--save writes a baseline file" -- "$DB" gate --save "$work/baseline.json" "${base[@]}"
check "the baseline file is JSON with 6 samples" python3 -c "
import json, sys
b = json.load(open('$work/baseline.json'))
assert b['format'] == 'decodebench-gate-baseline' and b['version'] == 1
assert len(b['points'][0]['metrics']['output_throughput']) == 6
assert len(b['environments']) == 6"
expect 1 "the saved baseline gives the same verdict" -- "$DB" gate --baseline "$work/baseline.json" "$work"/slow/r*
expect 0 "... and passes the unchanged runs" -- "$DB" gate --baseline "$work/baseline.json" "$work"/same/r*

# ---- sweep CSV -------------------------------------------------------------------------------------
{
  echo "batch,precision,output_throughput,p99_ttft_ms"
  for i in 0 1 2 3 4 5; do
    echo "1,bf16,${tputs[$i]},${ttfts[$i]}"
    echo "8,bf16,$(( ${tputs[$i]} * 6 )),${ttfts[$i]}"
  done
} > "$work/base.csv"
sed 's/^8,bf16,\([0-9]*\),/8,bf16,\1,9/' "$work/base.csv" > "$work/cur.csv" # batch 8: TTFT x ~190
expect 2 "a CSV needs --key" -- "$DB" gate --baseline "$work/base.csv" "$work/cur.csv"
expect 1 "sweep: the regressed point is found" -- "$DB" gate --key batch,precision \
  --baseline "$work/base.csv" "$work/cur.csv" --junit "$work/sweep.xml"
check "sweep: 4 testcases, 1 failure" junit_ok "$work/sweep.xml" 4 1 0
check "sweep: the failing point is batch 8" grep -q "batch=8,precision=bf16 *p99_ttft_ms.*REGRESSION" "$work/out.txt"

echo "cli_gate: $fails failure(s)"
[ "$fails" -eq 0 ]
