#!/usr/bin/env bash
# `decodebench run` writes timeline.json (Chrome trace / Perfetto JSON) by default; --timeline off
# leaves it out; --timeline-max-events caps it (otherData.truncated_at_s says where); bad values of
# both flags are usage errors (exit 2) naming the flag. Sim backend: deterministic and fast.
source "$(dirname "$0")/lib_cli.sh"
RUN=(run --backend sim --model tiny --prompt-len fixed:64 --output-len fixed:32 --arrival poisson:50
  --requests 40 --seed 3 --quiet)

"$DB" "${RUN[@]}" --out "$TMP/on" >/dev/null 2>"$TMP/err" || fail "default run failed: $(cat "$TMP/err")"
[ -s "$TMP/on/timeline.json" ] || fail "no timeline.json by default"
if command -v python3 >/dev/null 2>&1; then
  python3 - "$TMP/on/timeline.json" <<'PY' || fail "timeline.json is not a trace of 40 requests"
import json, sys
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
tracks = {e["tid"] for e in ev if e["pid"] == 2 and e["ph"] == "M" and e["name"] == "thread_name"}
assert len(tracks) == 40, len(tracks)
assert d["otherData"]["truncated_at_s"] is None
assert any(e["pid"] == 1 and e["ph"] == "X" for e in ev)
PY
fi

"$DB" "${RUN[@]}" --out "$TMP/off" --timeline off >/dev/null 2>&1 || fail "--timeline off run failed"
[ -e "$TMP/off/timeline.json" ] && fail "--timeline off still wrote timeline.json"
[ -s "$TMP/off/summary.json" ] || fail "--timeline off wrote no summary.json"

"$DB" "${RUN[@]}" --out "$TMP/cap" --timeline-max-events 100 >/dev/null 2>&1 || fail "capped run failed"
grep -q '"truncated_at_s":[0-9]' "$TMP/cap/timeline.json" || fail "a capped timeline does not say where it stops"

"$DB" "${RUN[@]}" --out "$TMP/bad" --timeline maybe >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] || fail "--timeline maybe: expected exit 2"
grep -qF -- "--timeline" "$TMP/err" || fail "--timeline maybe: message does not name the flag"
"$DB" "${RUN[@]}" --out "$TMP/bad" --timeline-max-events 0 >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] || fail "--timeline-max-events 0: expected exit 2"
grep -qF -- "--timeline-max-events" "$TMP/err" || fail "--timeline-max-events 0: message does not name the flag"

"$DB" run --help | grep -qF -- "--timeline-max-events" || fail "--help does not document --timeline-max-events"

finish
