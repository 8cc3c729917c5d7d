#!/usr/bin/env bash
# decodebench generate end to end on the cpu backend: one line of M + 1 token ids per sequence, the
# prefill and decode rate lines, the same tokens for the same seed and other tokens for another seed,
# a llama2.c checkpoint as --model, and exit code 2 naming the flag for every kind of bad input.
source "$(dirname "$0")/lib_cli.sh"

gen="generate --backend cpu --threads 2"

expect 0 "help" -- "$DB" generate --help
for flag in --model --layers --prompt-len --steps --batch --precision --kv-dtype --backend --device \
            --seed --threads --temperature --top-k; do
  check "help documents $flag" grep -q -- "$flag" "$TMP/out"
done

expect 0 "tiny, batch 3, 10 steps" -- "$DB" $gen --batch 3 --prompt-len 5 --steps 10 --seed 7
cp "$TMP/out" "$TMP/seed7.txt"
check "three sequence lines" test "$(grep -c '^seq [0-9]*:' "$TMP/out")" = 3
# 10 decode steps after the prefill: 11 token ids on each line.
check "11 ids per sequence" test "$(awk '/^seq /{print NF - 2}' "$TMP/out" | sort -u)" = 11
check "ids inside tiny's vocabulary (256)" \
  test -z "$(awk '/^seq /{for (i = 3; i <= NF; i++) if ($i < 0 || $i > 255) print $i}' "$TMP/out")"
check "prefill line: 3 x 5 tokens" grep -q '^prefill: 3 x 5 tokens in .* tokens/s, .* GB/s, .* GFLOP/s' "$TMP/out"
check "decode line: 3 x 10 tokens" grep -q '^decode: *3 x 10 tokens in .* tokens/s, .* GB/s, .* GFLOP/s, .* ms/step' "$TMP/out"

expect 0 "same seed again" -- "$DB" $gen --batch 3 --prompt-len 5 --steps 10 --seed 7
check "same seed, same tokens" cmp -s <(grep '^seq' "$TMP/seed7.txt") <(grep '^seq' "$TMP/out")
expect 0 "another seed" -- "$DB" $gen --batch 3 --prompt-len 5 --steps 10 --seed 8
differs() { ! cmp -s "$1" "$2"; }
check "another seed, other tokens" differs <(grep '^seq' "$TMP/seed7.txt") <(grep '^seq' "$TMP/out")

expect 0 "int4 weights, fp8 KV, sampling" -- "$DB" $gen --precision int4 --kv-dtype fp8 --temperature 0.8 --top-k 20 --steps 4
check "header names the scheme" grep -q 'int4 weights, fp8 KV, cpu backend' "$TMP/out"
expect 0 "--layers 1 of llama2c-15m, flag=value form" -- "$DB" $gen --model=llama2c-15m --layers=1 --steps=2
check "header names the truncated model" grep -q '^llama2c-15m-L1 (dim 288, 1 layers, vocab 32000)' "$TMP/out"

# A llama2.c checkpoint (perl writes it): header dim 8, hidden 16, 1 layer, 2 heads, 2 KV heads,
# vocab 32 (shared classifier), seq_len 16, then the fp32 tensors and the two legacy RoPE tables.
ck="$TMP/mini.bin"
perl -e '
  my ($dim, $hidden, $layers, $heads, $kvh, $vocab, $seq) = (8, 16, 1, 2, 2, 32, 16);
  my $hs = $dim / $heads;
  my @counts = ($vocab*$dim, $layers*$dim, $layers*$dim*$dim, $layers*$dim*$kvh*$hs,
                $layers*$dim*$kvh*$hs, $layers*$dim*$dim, $layers*$dim, $layers*$dim*$hidden,
                $layers*$hidden*$dim, $layers*$dim*$hidden, $dim, $seq*$hs);
  open(my $f, ">:raw", $ARGV[0]) or die;
  print $f pack("l<7", $dim, $hidden, $layers, $heads, $kvh, $vocab, $seq);
  my $k = 0;
  for my $n (@counts) { for (1 .. $n) { print $f pack("f<", ((($k * 37) % 17) - 8) * 0.05); $k++; } }
' "$ck" || { echo "FAIL: could not write the checkpoint"; exit 1; }
expect 0 "llama2.c checkpoint as --model" -- "$DB" $gen --model "$ck" --prompt-len 3 --steps 5
check "checkpoint header line" grep -q '^mini (dim 8, 1 layers, vocab 32)' "$TMP/out"
head -c 100 "$ck" > "$TMP/cut.bin"
expect 2 "truncated checkpoint" -- "$DB" $gen --model "$TMP/cut.bin"
check "message names the file" grep -q 'cut.bin' "$TMP/err"

expect 2 "unknown model" -- "$DB" $gen --model nope
check "message names --model" grep -q -- '--model nope' "$TMP/err"
expect 2 "batch 0" -- "$DB" $gen --batch 0
check "message names --batch" grep -q -- '--batch' "$TMP/err"
expect 2 "prompt + steps beyond the context" -- "$DB" $gen --prompt-len 500 --steps 13
check "message names --steps" grep -q -- '--steps 13 exceeds the max_seq_len 512' "$TMP/err"
expect 2 "unknown precision" -- "$DB" $gen --precision fp64
expect 2 "unknown KV dtype" -- "$DB" $gen --kv-dtype int8
expect 2 "unknown backend" -- "$DB" generate --backend tpu
expect 2 "--device without sim" -- "$DB" $gen --device h200
expect 2 "--top-k without temperature" -- "$DB" $gen --top-k 5
expect 2 "negative temperature" -- "$DB" $gen --temperature -1
expect 2 "missing value" -- "$DB" $gen --steps
expect 2 "unknown flag" -- "$DB" $gen --bogus 1
check "message names the flag" grep -q -- "unknown flag '--bogus'" "$TMP/err"

finish
