#!/usr/bin/env bash
# ci/kernel-trace-compare matches the CUPTI kernels.csv of `run --kernel-trace` with ncu's raw-page CSV
# and nsys's cuda_gpu_trace CSV by (step, order within the step, name), and reports counts per step,
# name agreement and the relative duration differences; malformed input is exit 2 with the file and
# line named. Fixtures (tests/data/kernel-trace/): kernels.csv holds steps 10 (eager: embedding,
# norm, cuBLAS GEMM, prefill attention, argmax), 11 and 12 (graph: embedding, norm, GEMV, decode
# attention, argmax) with CUPTI durations 2, 4, 50|20, 10, 5 us; the ncu and nsys files spell the
# same kernels the way those tools demangle them ("float *", not "float*").
source "$(dirname "$0")/lib_cli.sh"
require python3
CMP="$DB_SOURCE_DIR/ci/kernel-trace-compare"
DATA="$DB_SOURCE_DIR/tests/data/kernel-trace"

summary() { grep '^summary:' "$TMP/out"; }

# ---- ncu, same kernels --------------------------------------------------------------------------
# ncu durations are the CUPTI ones times (1 + d), d per kernel in launch order:
#   0.1 0.2 -0.1 0.0 0.3 | 0.1 0.2 0.1 0.0 0.5 | 0.1 -0.2 0.1 0.4 0.1
# |d| sorted: 0 0 .1 .1 .1 .1 .1 .1 .1 .2 .2 .2 .3 .4 .5 -> median (8th of 15) 0.1,
# p90 nearest rank ceil(0.9 * 15) = 14th -> 0.4; signed median 0.1.
expect 0 "ncu raw page, every kernel present" -- "$CMP" --cupti "$DATA/kernels.csv" --ncu "$DATA/ncu-raw.csv" --pairs "$TMP/pairs.csv"
check "ncu summary" grep -qx 'summary: tool=ncu method=head steps=3 cupti_kernels=15 other_kernels=15 names_agree=15/15 median_rel_diff=0.100 p90_rel_diff=0.400 verdict=agree' <(summary)
check "ncu per-step row of step 11" grep -qx '| 11 | 5 | 5 | 5 |' "$TMP/out"
check "ncu signed median" grep -q 'median d 0.100' "$TMP/out"
check "ncu loose-duration caveat" grep -q 'comparable only loosely' "$TMP/out"
# pairs.csv: header + 15 pairs; step 10's GEMM: 50 us in CUPTI, 45,000 ns (d = -0.1) in ncu
check "pairs.csv has 16 lines" test "$(wc -l <"$TMP/pairs.csv")" -eq 16
check "pairs.csv GEMM row" grep -q '^10,2,sm90_xmma_gemm_.*,1,1,50.000,45.000,-0.100000$' "$TMP/pairs.csv"

# ---- ncu, one kernel missing ----------------------------------------------------------------------
# step 11 lacks its decode attention (position 3): ncu 4 kernels there, positions 3 (attention vs
# argmax) and 4 (argmax vs none) disagree -> 13 of 15; |d| of the 13 agreeing pairs sorted:
# 0 .1 .1 .1 .1 .1 .1 .1 .2 .2 .2 .3 .4 -> median 7th 0.1, p90 ceil(11.7) = 12th -> 0.3.
expect 1 "ncu with a kernel missing differs" -- "$CMP" --cupti "$DATA/kernels.csv" --ncu "$DATA/ncu-missing-kernel.csv"
check "missing-kernel summary" grep -qx 'summary: tool=ncu method=head steps=3 cupti_kernels=15 other_kernels=14 names_agree=13/15 median_rel_diff=0.100 p90_rel_diff=0.300 verdict=DIFFER' <(summary)
check "missing-kernel step row" grep -qx '| 11 | 5 | 4 | 3 |' "$TMP/out"
check "first disagreement named" grep -q '^- 11 #3: `void decode_kernel' "$TMP/out"

# ---- nsys -----------------------------------------------------------------------------------------
# NOTICE lines before the header and one memcpy row per step are skipped; durations equal CUPTI's
# except step 12's GEMV (+5 %) and decode attention (-5 %): |d| = 13 zeros, 0.05, 0.05 ->
# median 0, p90 14th -> 0.05.
expect 0 "nsys cuda_gpu_trace" -- "$CMP" --cupti "$DATA/kernels.csv" --nsys "$DATA/nsys-cuda-gpu-trace.csv"
check "nsys summary" grep -qx 'summary: tool=nsys method=head steps=3 cupti_kernels=15 other_kernels=15 names_agree=15/15 median_rel_diff=0.000 p90_rel_diff=0.050 verdict=agree' <(summary)

# ---- steps cut by counts when no kernel opens every step once -------------------------------------
# Without the embedding and norm kernels (dropped from both files) step 10 opens with the GEMM and
# steps 11 and 12 with the GEMV: no common opening kernel, equal totals (9) -> cut by counts.
grep -v -e embedding_gather -e rmsnorm "$DATA/kernels.csv" >"$TMP/k9.csv"
grep -v -e embedding_gather -e rmsnorm "$DATA/ncu-raw.csv" >"$TMP/n9.csv"
expect 0 "no common opening kernel" -- "$CMP" --cupti "$TMP/k9.csv" --ncu "$TMP/n9.csv"
check "counts method" grep -q 'method=counts steps=3 cupti_kernels=9 other_kernels=9 names_agree=9/9' <(summary)

# ---- malformed input ------------------------------------------------------------------------------
expect 2 "ncu duration n/a" -- "$CMP" --cupti "$DATA/kernels.csv" --ncu "$DATA/ncu-bad-value.csv"
check "bad value names file, line, column" grep -q "ncu-bad-value.csv:8: column 'gpu__time_duration.sum' is 'n/a' (expected a number)" "$TMP/err"
printf '"ID","Process ID","Kernel Name","Section Name","Metric Name","Metric Unit","Metric Value"\n"0","1","k","Raw","gpu__time_duration.sum","nsecond","1"\n' >"$TMP/details.csv"
expect 2 "ncu details page instead of raw" -- "$CMP" --cupti "$DATA/kernels.csv" --ncu "$TMP/details.csv"
check "details page: missing metric column" grep -q "details.csv:1: no column 'gpu__time_duration.sum'" "$TMP/err"
printf 'ERROR: report file run.nsys-rep does not exist\n' >"$TMP/nsys-error.csv"
expect 2 "nsys error text" -- "$CMP" --cupti "$DATA/kernels.csv" --nsys "$TMP/nsys-error.csv"
check "nsys: no header" grep -q "nsys-error.csv: no cuda_gpu_trace header" "$TMP/err"
sed '3s/,4.000,/,4us,/' "$DATA/kernels.csv" >"$TMP/kbad.csv"
expect 2 "kernels.csv duration not a number" -- "$CMP" --cupti "$TMP/kbad.csv" --nsys "$DATA/nsys-cuda-gpu-trace.csv"
check "kernels.csv line named" grep -q "kbad.csv:3: column 'duration_us' is '4us'" "$TMP/err"
cut -d, -f1-3 "$DATA/kernels.csv" >"$TMP/kshort.csv"
expect 2 "kernels.csv without start_s" -- "$CMP" --cupti "$TMP/kshort.csv" --nsys "$DATA/nsys-cuda-gpu-trace.csv"
check "missing column named" grep -q "no column 'start_s'" "$TMP/err"
head -1 "$DATA/kernels.csv" >"$TMP/kempty.csv"
expect 2 "kernels.csv without rows" -- "$CMP" --cupti "$TMP/kempty.csv" --nsys "$DATA/nsys-cuda-gpu-trace.csv"
expect 2 "missing file" -- "$CMP" --cupti "$TMP/nope.csv" --nsys "$DATA/nsys-cuda-gpu-trace.csv"
check "missing file named" grep -q "nope.csv: cannot read" "$TMP/err"
expect 2 "no external source" -- "$CMP" --cupti "$DATA/kernels.csv"

finish
