#!/usr/bin/env bash
# The dashboard of `quantfarm serve` in a real browser (headless Chromium driven by
# playwright-core, tests/browser/dashboard_test.js) against `mpirun -np 3 quantfarm
# serve` with an API token:
#  - GET / and the assets come from the binary with their Content-Type and
#    Cache-Control: no-cache; an unknown asset is a JSON 404 (curl);
#  - the page loads with no console error and no page error, and shows the cluster;
#  - a search started from the form (token typed into the page) appears in the list,
#    its plot gains points while it runs, and polling of it stops once it finished;
#    the top list and the overfitting report are shown;
#  - an ensemble deployed from the experiment answers the predict form;
#  - the token is sent as the Authorization header only, never in a URL.
# Screenshots go to $QF_TEST_ARTIFACTS, else $PWD/dashboard-screenshots (printed).
# Usage: dashboard_test.sh /path/to/quantfarm
HERE="$(cd "$(dirname "$0")" && pwd)"
ARTIFACTS="${QF_TEST_ARTIFACTS:-$PWD/dashboard-screenshots}"
source "$HERE/../cli/cli_test_lib.sh" "$1"
# The top list and ensemble deploys read the result cache: keep it on here.
unset QUANTFARM_NO_CACHE
mkdir -p "$ARTIFACTS"
ARTIFACTS="$(cd "$ARTIFACTS" && pwd)"

command -v node > /dev/null || fail "node is not installed"
CHROMIUM="${QF_CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || fail "no Chromium at $CHROMIUM (set QF_CHROMIUM)"
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  echo "installing playwright-core (npm ci --prefix tests/browser)"
  timeout 240 npm ci --prefix "$HERE" --no-audit --no-fund > npm.out 2>&1 ||
    { cat npm.out >&2; fail "npm ci --prefix $HERE failed"; }
fi

"$QF" data synth --store data.h5 --symbols 3 --bars 4000 --seed 11 > /dev/null
port=$(free_port)
url="http://127.0.0.1:$port"
export QUANTFARM_API_TOKEN="dash-$RANDOM$RANDOM-token"
timeout 300 mpirun --allow-run-as-root --oversubscribe -np 3 "$QF" serve --port "$port" \
  --store data.h5 --registry reg.db --results-dir results > serve.out 2>&1 &
PID=$!
stop_serve() {  # SIGTERM (mpirun forwards it: a graceful stop), SIGKILL after 15 s
  kill -0 "$PID" 2> /dev/null || return 0
  kill -TERM "$PID" 2> /dev/null || true
  for _ in $(seq 1 150); do
    kill -0 "$PID" 2> /dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$PID" 2> /dev/null || true
}
trap 'stop_serve; rm -rf "$WORK"' EXIT
wait_serve "$url" "$PID" serve.out

# The assets as the server sends them.
headers() {  # headers PATH OUT: prints the status code, headers into OUT
  curl -s --path-as-is -D "$2" -o "$2.body" -w '%{http_code}' "$url$1"
}
[ "$(headers / index.h)" = 200 ] || fail "GET / answered $(head -1 index.h)"
grep -qi '^content-type: text/html; charset=utf-8' index.h || { cat index.h; fail "GET /: Content-Type"; }
grep -qi '^cache-control: no-cache' index.h || { cat index.h; fail "GET /: Cache-Control"; }
grep -qi '^content-security-policy: ' index.h || { cat index.h; fail "GET /: no CSP"; }
expect_contains index.h.body '<script type="module" src="/dashboard/dashboard.js">'
for asset in dashboard.js plot.js common.js experiments.js forms.js; do
  [ "$(headers /dashboard/$asset a.h)" = 200 ] || fail "GET /dashboard/$asset"
  grep -qi '^content-type: text/javascript' a.h || { cat a.h; fail "$asset: Content-Type"; }
  cmp -s a.h.body "$HERE/../../serve/dashboard/$asset" || fail "$asset differs from its source"
done
[ "$(headers /dashboard/dashboard.css a.h)" = 200 ] && grep -qi '^content-type: text/css' a.h ||
  fail "GET /dashboard/dashboard.css"
for missing in /dashboard/nope.js /dashboard/ /dashboard/../dashboard.cc; do
  code=$(headers "$missing" m.h)
  [ "$code" = 404 ] || fail "GET $missing answered $code, not 404"
done
expect_contains m.h.body '"error":"not_found"'
echo "assets: from the binary, with Content-Type, no-cache, CSP; unknown paths 404"

start=$(date +%s)
QF_URL="$url" QF_TOKEN="$QUANTFARM_API_TOKEN" QF_CHROMIUM="$CHROMIUM" \
  QF_SCREENSHOTS="$ARTIFACTS" NODE_PATH="$HERE/node_modules" \
  timeout 260 node "$HERE/dashboard_test.js" 2>&1 | tee browser.out
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || { tail -40 serve.out >&2; fail "browser test failed (exit $rc)"; }
echo "browser part: $(( $(date +%s) - start )) s"
expect_contains serve.out "search 'dash-ga': finished"
echo "screenshots: $ARTIFACTS"
ls "$ARTIFACTS"
echo "PASS"
