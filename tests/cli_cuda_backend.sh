#!/usr/bin/env bash
# --backend cuda and auto on roofline, sweep and run, whatever the machine: `decodebench --version`
# says whether the CUDA backend is built in. Without a usable GPU (or without CUDA in the build)
# asking for cuda fails with exit 1 and a message naming the reason, and auto falls back to cpu.
# With a GPU, a tiny roofline measurement and a tiny sweep run on it, and auto picks it.
source "$(dirname "$0")/lib_cli.sh"

"$DB" --version >"$TMP/version" || fail "--version exited $?"
if grep -q '^cuda backend: built in$' "$TMP/version"; then
  built=1
elif grep -q '^cuda backend: not built$' "$TMP/version"; then
  built=0
else
  fail "--version does not say whether the cuda backend is built: $(cat "$TMP/version")"
  built=0
fi
gpu=0
if [ "$built" -eq 1 ] &&
  "$DB" run --backend cuda --model tiny --requests 1 --quiet --out "$TMP/probe" >/dev/null 2>&1; then
  gpu=1
fi

TINY_CEIL=(--buffer 16MiB --gemm-n 256 --warmup 1 --reps 2)
SWEEP=(--model tiny --batch 1,2 --context 4 --steps 1 --warmup-steps 0 --quiet)

if [ "$gpu" -eq 0 ]; then
  if [ "$built" -eq 1 ]; then why="no CUDA device is present"; else why="this decodebench was built without CUDA"; fi
  expect_exit 1 "roofline cuda" "the cuda backend: $why" \
    "$DB" roofline --backend cuda "${TINY_CEIL[@]}" --out "$TMP/c.json"
  [ ! -e "$TMP/c.json" ] || fail "roofline cuda without a GPU wrote a file"
  expect_exit 1 "sweep cuda" "--backend cuda: $why" \
    "$DB" sweep --backend cuda "${SWEEP[@]}" --out "$TMP/s.csv"
  [ ! -e "$TMP/s.csv" ] || fail "sweep cuda without a GPU wrote a CSV"
  # auto falls back to cpu on both
  "$DB" roofline --backend auto --buffer 1MiB --gemm-n 32 --linear 64x128 --linear-batch 16 \
    --warmup 0 --reps 1 --threads 1 --quiet --out "$TMP/a.json" || fail "roofline auto exited $?"
  grep -q '"backend": "cpu"' "$TMP/a.json" || fail "roofline auto did not measure the cpu"
  # the measured cpu file prices run's MFU / MBU on cpu (--ceilings), and is recorded
  "$DB" run --backend cpu --model tiny --requests 2 --ceilings "$TMP/a.json" --quiet \
    --out "$TMP/run" >/dev/null || fail "run cpu --ceilings exited $?"
  grep -q '"mfu": [0-9]' "$TMP/run/summary.json" || fail "run summary lacks MFU with --ceilings"
  grep -q "\"ceilings\": \"$TMP/a.json\"" "$TMP/run/summary.json" || fail "run summary lacks the ceilings fact"
  grep -q '"gpu_name"' "$TMP/run/summary.json" && fail "cpu run summary has GPU facts"
  "$DB" sweep --backend auto "${SWEEP[@]}" --out "$TMP/a.csv" || fail "sweep auto exited $?"
  grep -q ',step,cpu,' "$TMP/a.csv" || fail "sweep auto rows are not cpu rows: $(head -2 "$TMP/a.csv")"
else
  "$DB" roofline --backend cuda "${TINY_CEIL[@]}" --quiet --out "$TMP/c.json" ||
    fail "roofline cuda exited $?"
  grep -q '"source": "measured"' "$TMP/c.json" || fail "cuda ceilings not labelled measured"
  grep -q '"gpu_compute_capability"' "$TMP/c.json" || fail "cuda ceilings lack the GPU facts"
  grep -q '"name": "gemm bf16"' "$TMP/c.json" || fail "cuda ceilings lack the bf16 GEMM"
  "$DB" sweep --backend auto "${SWEEP[@]}" --ceilings "$TMP/c.json" --out "$TMP/s.csv" ||
    fail "sweep auto on the GPU exited $?"
  grep -q ',step,cuda,' "$TMP/s.csv" || fail "sweep auto rows are not cuda rows: $(head -2 "$TMP/s.csv")"
  grep -q ',measured,' "$TMP/s.csv" || fail "sweep rows do not name the measured ceilings"
  "$DB" run --backend cuda --model tiny --requests 4 --ceilings "$TMP/c.json" --quiet \
    --out "$TMP/run" >/dev/null || fail "run cuda exited $?"
  grep -q '"gpu_sm_count"' "$TMP/run/summary.json" || fail "run summary lacks the GPU facts"
  grep -q '"mfu"' "$TMP/run/summary.json" || fail "run summary lacks MFU with --ceilings"
fi

finish "(cuda built: $built, GPU: $gpu)"
