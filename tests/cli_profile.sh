#!/usr/bin/env bash
# `decodebench profile nsys|ncu ... -- RUN_FLAGS` prints the command that runs `decodebench run` under
# Nsight Systems / Nsight Compute with the capture limited to --profile-steps A:B (--dry-run prints
# only); a missing tool is a clear failure (exit 1); usage errors exit 2. `run --profile-steps` on
# the sim backend counts the window's steps; `run --kernel-trace` without a GPU fails (1) and on the
# sim or cpu backend is a usage error (2); under an external profiler it turns itself off.
source "$(dirname "$0")/lib_cli.sh"

# ---- command lines -------------------------------------------------------------------------------
expect_rc 0 "nsys dry run" "$DB" profile nsys --dry-run --report rep -- --backend cuda --model tiny
grep -q "nsys profile -t cuda,nvtx --capture-range=cudaProfilerApi --capture-range-end=stop --cuda-graph-trace=node -o rep .*decodebench run --backend cuda --model tiny --profile-steps 10:20\$" "$TMP/out" ||
  fail "nsys dry run printed: $(cat "$TMP/out")"
expect_rc 0 "ncu dry run" "$DB" profile ncu --dry-run --phase decode --steps 4:+2 --report k --launch-count 5 -- --model tiny
grep -q "ncu --profile-from-start off --clock-control none --nvtx --nvtx-include decodebench@decode/ -o k --launch-count 5 .*decodebench run --model tiny --profile-steps 4:6\$" "$TMP/out" ||
  fail "ncu dry run printed: $(cat "$TMP/out")"
expect_rc 0 "window in the run flags" "$DB" profile nsys --dry-run --report r -- --profile-steps 2:3
[ "$(grep -o -- '--profile-steps' "$TMP/out" | wc -l)" -eq 1 ] || fail "the run's own --profile-steps was doubled: $(cat "$TMP/out")"

# ---- a tool that is not installed ------------------------------------------------------------------
# The search is PATH, then /usr/local/cuda/bin: check with a tool absent from both (a machine with
# both tools installed there cannot show this case).
missing=""
for t in nsys ncu; do [ -x "/usr/local/cuda/bin/$t" ] || { missing=$t; break; }; done
if [ -n "$missing" ]; then
  PATH=/nonexistent expect_rc 1 "$missing missing" "$DB" profile "$missing" --report r -- --model tiny
  grep -q "$missing was not found" "$TMP/err" || fail "no 'not found' message: $(cat "$TMP/err")"
  grep -q "decodebench run" "$TMP/out" || fail "the command is not shown when the tool is missing"
else
  echo "note: nsys and ncu are both in /usr/local/cuda/bin: the missing-tool case is not checked"
fi

# ---- usage errors ----------------------------------------------------------------------------------
expect_rc 2 "unknown tool" "$DB" profile perf -- --model tiny
grep -q "expected nsys or ncu" "$TMP/err" || fail "unknown tool: $(cat "$TMP/err")"
expect_rc 2 "phase with nsys" "$DB" profile nsys --dry-run --phase decode --
expect_rc 2 "bad phase" "$DB" profile ncu --dry-run --phase sideways --
expect_rc 2 "bad steps" "$DB" profile nsys --dry-run --steps 9:3 --
grep -q -- "--steps" "$TMP/err" || fail "bad steps: message does not name --steps"
expect_rc 2 "two windows" "$DB" profile nsys --dry-run --steps 1:2 -- --profile-steps 3:4
expect_rc 0 "help" "$DB" profile --help
grep -q "capture-range=cudaProfilerApi" "$TMP/out" || fail "profile --help does not show the nsys command"

# ---- run --profile-steps / --kernel-trace ----------------------------------------------------------
RUN=(run --backend sim --model tiny --prompt-len fixed:32 --output-len fixed:16 --arrival offline --requests 8 --max-batch 8)
expect_rc 0 "sim profile window" "$DB" "${RUN[@]}" --profile-steps 3:+4 --out "$TMP/pw"
grep -q '"profiled_steps": 4' "$TMP/pw/summary.json" || fail "summary.json lacks profiled_steps 4"
grep -q "no device profiler" "$TMP/err" || fail "no note that the sim backend has no device profiler"
expect_rc 2 "bad profile window" "$DB" "${RUN[@]}" --profile-steps 4 --out "$TMP/x"
grep -q -- "--profile-steps" "$TMP/err" || fail "bad --profile-steps: message does not name the flag"
expect_rc 2 "kernel trace on sim" "$DB" "${RUN[@]}" --kernel-trace --out "$TMP/x"
grep -q "needs --backend cuda" "$TMP/err" || fail "kernel trace on sim: $(cat "$TMP/err")"
expect_rc 2 "ceilings on sim" "$DB" "${RUN[@]}" --ceilings h100-sxm --out "$TMP/x"
grep -q -- "--ceilings applies to the cpu and cuda backends" "$TMP/err" || fail "ceilings on sim: $(cat "$TMP/err")"
if ! "$DB" run --backend cuda --model tiny --requests 1 --quiet --out "$TMP/gpu" >/dev/null 2>&1; then
  # no usable CUDA device here: auto resolves to cpu, so a kernel trace cannot run
  expect_rc 1 "kernel trace without a GPU" "$DB" run --model tiny --requests 2 --kernel-trace --out "$TMP/x"
  grep -q "needs a CUDA device" "$TMP/err" || fail "kernel trace without a GPU: $(cat "$TMP/err")"
fi
NSYS_PROFILING_SESSION_ID=1 expect_rc 0 "kernel trace under nsys" "$DB" run --model tiny --requests 2 --kernel-trace --quiet --out "$TMP/ns"
grep -q "kernel-trace is off: running under nsys" "$TMP/err" || fail "no note that the trace is off under nsys"

finish
