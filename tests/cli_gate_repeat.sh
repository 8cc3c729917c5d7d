#!/usr/bin/env bash
# decodebench gate --repeat on the sim backend, end to end: a baseline saved from repeated runs, the
# recorded command line re-run from the baseline, exact comparison of deterministic sim summaries, and
# the fingerprint refusing a changed configuration.
source "$(dirname "$0")/lib_cli.sh"

run=(run --backend sim --model tiny --requests 24 --prompt-len uniform:8:32 --output-len uniform:4:16
     --arrival poisson:50 --seed 5)

expect 0 "--save from two repeated sim runs" -- "$DB" gate --save "$TMP/base.json" --repeat 2 \
  --out "$TMP/runs-a" -- "${run[@]}"
check "both runs were written" test -f "$TMP/runs-a/run-02/summary.json"
check "the baseline holds two samples per metric" python3 -c "
import json
b = json.load(open('$TMP/base.json'))
assert len(b['points'][0]['metrics']['output_throughput']) == 2
assert b['command_line'] and 'tiny' in b['command_line']"

expect 0 "the recorded command re-run is identical" -- "$DB" gate --baseline "$TMP/base.json" \
  --repeat 1 --out "$TMP/runs-b"
check "sim runs are compared exactly" grep -q "every metric compared exactly" "$TMP/out"
check "the gate's stdout holds only the gate's table" bash -c "! grep -q '^Outputs:' '$TMP/out'"

expect 2 "a different scheduler setting is refused by the fingerprint" -- "$DB" gate \
  --baseline "$TMP/base.json" --repeat 1 --out "$TMP/runs-c" -- "${run[@]}" --max-batch 2
check "the mismatch names max_batch" grep -q "max_batch" "$TMP/err"

expect 1 "... and, allowed, the changed metrics are CHANGED" -- "$DB" gate --allow-mismatch \
  --baseline "$TMP/base.json" --repeat 1 --out "$TMP/runs-d" -- "${run[@]}" --max-batch 2
check "CHANGED rows are listed" grep -q "CHANGED" "$TMP/out"

expect 2 "a bad run flag is a usage error" -- "$DB" gate --baseline "$TMP/base.json" --repeat 1 \
  --out "$TMP/runs-e" -- run --backend sim --no-such-flag
expect 2 "--repeat without a baseline needs the run flags" -- "$DB" gate --save "$TMP/x.json" --repeat 1

finish
