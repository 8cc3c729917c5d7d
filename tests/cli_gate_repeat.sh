#!/usr/bin/env bash
# decodebench gate --repeat on the sim backend, end to end: a baseline saved from repeated runs, the
# recorded command line re-run from the baseline, exact comparison of deterministic sim summaries, and
# the fingerprint refusing a changed configuration.
set -u
DB=${DECODEBENCH:?DECODEBENCH must name the decodebench binary}
work=$(mktemp -d "${TMPDIR:-/tmp}/cli_gate_repeat.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0

expect() { # expect CODE DESCRIPTION -- COMMAND...
  local want=$1 what=$2
  shift 3
  "$@" >"$work/out.txt" 2>"$work/err.txt"
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"
    sed 's/^/  stdout: /' "$work/out.txt" | tail -20
    sed 's/^/  stderr: /' "$work/err.txt" | tail -20
    fails=$((fails + 1))
  else
    echo "ok: $what (exit $got)"
  fi
}

check() {
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

run=(run --backend sim --model tiny --requests 24 --prompt-len uniform:8:32 --output-len uniform:4:16
     --arrival poisson:50 --seed 5)

expect 0 "--save from two repeated sim runs" -- "$DB" gate --save "$work/base.json" --repeat 2 \
  --out "$work/runs-a" -- "${run[@]}"
check "both runs were written" test -f "$work/runs-a/run-02/summary.json"
check "the baseline holds two samples per metric" python3 -c "
import json
b = json.load(open('$work/base.json'))
assert len(b['points'][0]['metrics']['output_throughput']) == 2
assert b['command_line'] and 'tiny' in b['command_line']"

expect 0 "the recorded command re-run is identical" -- "$DB" gate --baseline "$work/base.json" \
  --repeat 1 --out "$work/runs-b"
check "sim runs are compared exactly" grep -q "every metric compared exactly" "$work/out.txt"
check "the gate's stdout holds only the gate's table" bash -c "! grep -q '^Outputs:' '$work/out.txt'"

expect 2 "a different scheduler setting is refused by the fingerprint" -- "$DB" gate \
  --baseline "$work/base.json" --repeat 1 --out "$work/runs-c" -- "${run[@]}" --max-batch 2
check "the mismatch names max_batch" grep -q "max_batch" "$work/err.txt"

expect 1 "... and, allowed, the changed metrics are CHANGED" -- "$DB" gate --allow-mismatch \
  --baseline "$work/base.json" --repeat 1 --out "$work/runs-d" -- "${run[@]}" --max-batch 2
check "CHANGED rows are listed" grep -q "CHANGED" "$work/out.txt"

expect 2 "a bad run flag is a usage error" -- "$DB" gate --baseline "$work/base.json" --repeat 1 \
  --out "$work/runs-e" -- run --backend sim --no-such-flag
expect 2 "--repeat without a baseline needs the run flags" -- "$DB" gate --save "$work/x.json" --repeat 1

echo "cli_gate_repeat: $fails failure(s)"
[ "$fails" -eq 0 ]
