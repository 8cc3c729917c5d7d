#!/usr/bin/env bash
# `decodebench roofline` end to end: a datasheet preset written from the sim backend is labelled
# "datasheet"; a (tiny) CPU measurement is labelled "measured", carries the environment fingerprint
# and is accepted by the sim backend as --device FILE.json and by sweep --ceilings; usage errors exit 2.
source "$(dirname "$0")/lib_cli.sh"

# ---- a datasheet preset --------------------------------------------------------------------------
"$DB" roofline --backend sim --device h100-sxm --out "$TMP/h100.json" >"$TMP/out" ||
  fail "preset exited $?"
grep -q '"source": "datasheet"' "$TMP/h100.json" || fail "preset not labelled datasheet"
grep -q '"memory_bandwidth_GBps": 3350' "$TMP/h100.json" || fail "preset bandwidth: $(cat "$TMP/h100.json")"
grep -q 'datasheet' "$TMP/out" || fail "printed table lacks the datasheet label"
# ridge x w / 2 for bf16 on h100-sxm: 989.4 / 3.35 = 295.3 (spec/roofline.md)
grep -Eq '^bf16 .* 295\.3' "$TMP/out" || fail "bf16 row: $(grep bf16 "$TMP/out")"

# ---- a tiny CPU measurement ------------------------------------------------------------------------
TINY=(--buffer 1MiB --gemm-n 32 --linear 64x128 --linear-batch 16 --warmup 0 --reps 1 --threads 2)
"$DB" roofline --backend cpu "${TINY[@]}" --out "$TMP/cpu.json" >"$TMP/out" || fail "cpu exited $?"
grep -q '"source": "measured"' "$TMP/cpu.json" || fail "cpu ceilings not labelled measured"
grep -q '"fingerprint"' "$TMP/cpu.json" || fail "no fingerprint"
grep -q '"command_line": "decodebench roofline --backend cpu' "$TMP/cpu.json" || fail "no command line"
for m in copy read "sgemm fp32" "linear bf16" "linear int4"; do
  grep -q "\"name\": \"$m\"" "$TMP/cpu.json" || fail "no measurement '$m'"
done
# the sim backend accepts the file as its device, and a sweep as its ceilings
"$DB" sweep --backend sim --device "$TMP/cpu.json" --model tiny --batch 1,2,4,8,16 --context 4 \
  --quiet --out "$TMP/s.csv" || fail "sim on measured ceilings exited $?"
grep -q ',measured,' "$TMP/s.csv" || fail "sweep rows do not name the measured ceilings"
"$DB" sweep --backend cpu --ceilings "$TMP/cpu.json" --model tiny --batch 1,2 --context 4 \
  --steps 1 --warmup-steps 0 --quiet --out "$TMP/c.csv" || fail "cpu sweep with --ceilings exited $?"
grep -q ',measured,' "$TMP/c.csv" || fail "cpu sweep rows do not name the measured ceilings"
"$DB" roofline --backend cpu "${TINY[@]}" --quiet --out "$TMP/q.json" >"$TMP/out" || fail "quiet $?"
[ ! -s "$TMP/out" ] || fail "--quiet printed: $(cat "$TMP/out")"

# ---- usage errors ---------------------------------------------------------------------------------
expect_exit 2 "sim without device" "--backend sim needs --device" "$DB" roofline --backend sim
expect_exit 2 "device on cpu" "--device applies to --backend sim only" "$DB" roofline --backend cpu \
  --device h100-sxm
expect_exit 2 "unknown preset" "unknown sim device 'h900'" "$DB" roofline --backend sim --device h900
expect_exit 2 "bad linear" "--linear expects NxK" "$DB" roofline --linear 4096
expect_exit 2 "small buffer" "--buffer must be at least 1MiB" "$DB" roofline --buffer 1000
expect_exit 2 "bad reps" "--reps expects an integer in 1..101" "$DB" roofline --reps 0
expect_exit 2 "unknown flag" "unknown flag '--bogus'" "$DB" roofline --bogus 1
expect_exit 1 "unwritable out" "cannot write '/nonexistent-dir/c.json'" "$DB" roofline --backend sim \
  --device h200 --out /nonexistent-dir/c.json

"$DB" roofline --help >"$TMP/help" 2>&1 || fail "--help exited non-zero"
for flag in --backend --device --out --threads --buffer --gemm-n --linear --linear-batch --warmup \
  --reps --quiet; do
  grep -q -- "$flag" "$TMP/help" || fail "--help does not document $flag"
done

finish
