#!/usr/bin/env bash
# `decodebench sweep` and `decodebench merge` end to end on the sim backend (deterministic): the CSV
# has one row per point; an existing CSV needs --resume or --overwrite; --resume runs only the
# missing points; the shards of a sweep merged equal the whole sweep byte for byte; merge refuses
# duplicate points and foreign headers; a failing point is recorded and the sweep goes on; bad lists
# exit 2 naming the flag; the measured crossover is filled in.
source "$(dirname "$0")/lib_cli.sh"

rows() { tail -n +2 "$1" | wc -l; }

SWEEP=(sweep --backend sim --model llama2-7b --precision bf16,int8 --batch 1..256x2 --context 16,64
  --warmup-steps 1 --steps 2 --quiet)
# 2 precisions x 1 KV dtype x 2 contexts x 9 batches = 36 points

# ---- a whole sweep --------------------------------------------------------------------------------
"$DB" "${SWEEP[@]}" --out "$TMP/all.csv" || fail "sweep exited $?"
[ "$(rows "$TMP/all.csv")" -eq 36 ] || fail "expected 36 rows, got $(rows "$TMP/all.csv")"
head -1 "$TMP/all.csv" | grep -q '^point,mode,backend,device,model,precision,kv_dtype,batch,context,' ||
  fail "header: $(head -1 "$TMP/all.csv")"
# every row ok, and the curves got a measured crossover (column 39)
grep -c ',ok,' "$TMP/all.csv" | grep -qx 36 || fail "not every row is ok"
knees=$(tail -n +2 "$TMP/all.csv" | cut -d, -f39 | sort -u | grep -c .)
[ "$knees" -ge 1 ] || fail "no measured_crossover_batch filled in"

# ---- an existing file needs --resume or --overwrite ----------------------------------------------
expect_exit 2 "existing out" "pass --resume" "$DB" "${SWEEP[@]}" --out "$TMP/all.csv"
expect_exit 2 "resume+overwrite" "alternatives" "$DB" "${SWEEP[@]}" --out "$TMP/all.csv" --resume \
  --overwrite

# ---- resume runs only the missing points ----------------------------------------------------------
head -11 "$TMP/all.csv" >"$TMP/part.csv" # header + 10 rows
"$DB" "${SWEEP[@]}" --out "$TMP/part.csv" --resume || fail "resume exited $?"
[ "$(rows "$TMP/part.csv")" -eq 36 ] || fail "resume: expected 36 rows, got $(rows "$TMP/part.csv")"
sort "$TMP/part.csv" >"$TMP/a" && sort "$TMP/all.csv" >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "resumed sweep differs from the whole sweep"
"$DB" sweep --backend sim --model llama2-7b --precision bf16,int8 --batch 1..256x2 --context 16,64 \
  --warmup-steps 1 --steps 2 --out "$TMP/part.csv" --resume >"$TMP/out" 2>&1 || fail "resume 2"
grep -q "0 run (0 failed), 36 already in" "$TMP/out" || fail "second resume ran points: $(cat "$TMP/out")"
# resume refuses a file with another header
printf 'a,b\n1,2\n' >"$TMP/foreign.csv"
expect_exit 2 "resume foreign" "not a sweep CSV" "$DB" "${SWEEP[@]}" --out "$TMP/foreign.csv" --resume

# ---- shards merged equal the whole sweep ---------------------------------------------------------
for i in 0 1 2; do
  "$DB" "${SWEEP[@]}" --shard "$i/3" --out "$TMP/s$i.csv" || fail "shard $i exited $?"
  [ "$(rows "$TMP/s$i.csv")" -eq 12 ] || fail "shard $i: expected 12 rows"
done
"$DB" merge --quiet "$TMP/merged.csv" "$TMP/s2.csv" "$TMP/s0.csv" "$TMP/s1.csv" || fail "merge $?"
cmp -s "$TMP/merged.csv" "$TMP/all.csv" || fail "merged shards differ from the whole sweep"

# ---- merge refuses duplicates, foreign headers, an existing OUT ------------------------------------
expect_exit 2 "merge duplicate" "duplicate points are refused" "$DB" merge --quiet "$TMP/dup.csv" \
  "$TMP/s0.csv" "$TMP/all.csv"
expect_exit 2 "merge foreign" "not a sweep CSV" "$DB" merge "$TMP/m2.csv" "$TMP/s0.csv" \
  "$TMP/foreign.csv"
expect_exit 2 "merge existing out" "pass --overwrite" "$DB" merge "$TMP/all.csv" "$TMP/s0.csv"
expect_exit 2 "merge missing input" "no such file" "$DB" merge "$TMP/m3.csv" "$TMP/nope.csv"
expect_exit 2 "merge no inputs" "at least one IN.csv" "$DB" merge "$TMP/m4.csv"

# ---- a failing point is recorded; the sweep goes on and exits 0 -------------------------------------
"$DB" sweep --backend sim --model llama2-7b --batch 1,64,2 --context 16 --kv-tokens 256 --quiet \
  --out "$TMP/kv.csv" || fail "kv sweep exited $?"
[ "$(rows "$TMP/kv.csv")" -eq 3 ] || fail "kv sweep: expected 3 rows"
grep -q ',64,16,.*,failed,"\{0,1\}KV cache too small' "$TMP/kv.csv" || fail "batch 64 not failed: $(cat "$TMP/kv.csv")"
[ "$(grep -c ',ok,' "$TMP/kv.csv")" -eq 2 ] || fail "batches 1 and 2 should be ok"

# ---- usage errors ---------------------------------------------------------------------------------
expect_exit 2 "bad batch" "--batch: range '8..1' runs backwards" "$DB" sweep --backend sim \
  --batch 8..1 --out "$TMP/x.csv"
expect_exit 2 "bad factor" "factor >= 2" "$DB" sweep --backend sim --batch 1..8x1 --out "$TMP/x.csv"
expect_exit 2 "bad precision" "--precision: unknown value 'bf17'" "$DB" sweep --backend sim \
  --precision bf17 --out "$TMP/x.csv"
expect_exit 2 "bad shard" "--shard expects I/N" "$DB" sweep --backend sim --shard 3/3 --out "$TMP/x.csv"
expect_exit 2 "context above max" "--context: '9000' gives 9000, outside 1..4096" "$DB" sweep \
  --backend sim --model llama2-7b --context 9000 --out "$TMP/x.csv"
expect_exit 2 "device on cpu" "--device applies to --backend sim only" "$DB" sweep --backend cpu \
  --device h100-sxm --out "$TMP/x.csv"
expect_exit 2 "bad mode" "--mode expects step" "$DB" sweep --mode serve2 --out "$TMP/x.csv"
expect_exit 2 "unknown flag" "unknown flag '--batches'" "$DB" sweep --batches 1 --out "$TMP/x.csv"
[ ! -e "$TMP/x.csv" ] || fail "a usage error wrote the CSV"

"$DB" sweep --help >"$TMP/help" 2>&1 || fail "--help exited non-zero"
for flag in --mode --backend --model --layers --device --ceilings --batch --precision --kv-dtype \
  --context --warmup-steps --steps --threads --kv-tokens --prefill-step-tokens --seed --out --resume \
  --overwrite --shard --quiet; do
  grep -q -- "$flag" "$TMP/help" || fail "--help does not document $flag"
done

finish
