# tests/lib_cli.sh: the prologue that every tests/cli_*.sh sources as "$(dirname "$0")/lib_cli.sh".
# It names the binary ($DB, from $DECODEBENCH), makes a scratch directory ($TMP, removed on exit),
# keeps the failure count ($fails) and defines the shared check helpers, the skip helper and the
# closing verdict. It holds no checks of its own and is not a test (CTest runs only cli_*.sh).
set -u
DB="${DECODEBENCH:?DECODEBENCH must point at the decodebench binary}"
CLI_TEST="$(basename "$0" .sh)"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/$CLI_TEST.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
fails=0

# require CMD: skips the test (exit 77) when CMD is not installed.
require() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "$1 not installed: skipped"
    exit 77
  }
}

# fail MESSAGE...: records one failed check.
fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}

# expect_rc CODE NAME CMD...: exit code CODE; stdout and stderr are left in $TMP/out and $TMP/err.
expect_rc() {
  local want="$1" name="$2"
  shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  [ "$rc" -eq "$want" ] || fail "$name: exit $rc, expected $want ($(cat "$TMP/err"))"
}

# expect_exit CODE NAME SUBSTRING CMD...: exit code CODE and SUBSTRING in stderr.
expect_exit() {
  local code="$1" name="$2" want="$3"
  shift 3
  expect_rc "$code" "$name" "$@"
  grep -qF -- "$want" "$TMP/err" || fail "$name: stderr lacks '$want': $(cat "$TMP/err")"
}

# expect CODE DESCRIPTION -- CMD...: exit code CODE, printed as "ok: ..." or as a failure with the
# first 20 lines of both outputs ($TMP/out, $TMP/err).
expect() {
  local want=$1 what=$2
  shift 3
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    fail "$what: exit $got, expected $want"
    sed 's/^/  stdout: /' "$TMP/out" | head -20 >&2
    sed 's/^/  stderr: /' "$TMP/err" | head -20 >&2
  else
    echo "ok: $what (exit $got)"
  fi
}

# check DESCRIPTION CMD...: CMD succeeds (a condition on the last outputs).
check() {
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else fail "$what"; fi
}

# finish [NOTE...]: the verdict; exits 0 when every check passed, 1 otherwise.
finish() {
  if [ "$fails" -eq 0 ]; then
    echo "$CLI_TEST: all checks passed${*:+ $*}"
    exit 0
  fi
  echo "$CLI_TEST: $fails check(s) failed" >&2
  exit 1
}
