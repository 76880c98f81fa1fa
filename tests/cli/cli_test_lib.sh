# Shared set-up and assertions of the CLI tests; sourced, with $1 = the quantfarm
# binary. Leaves the caller in a fresh temporary directory removed on exit.
set -euo pipefail

QF="$(readlink -f "$1")"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
unset QUANTFARM_STORE

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_contains() {  # expect_contains FILE TEXT
  grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "missing '$2'"; }
}
# expect_failure LOG CMD...: CMD must exit non-zero; its stderr goes to LOG.
expect_failure() {
  local log="$1"; shift
  if "$@" >/dev/null 2>"$log"; then fail "succeeded: $*"; fi
}
