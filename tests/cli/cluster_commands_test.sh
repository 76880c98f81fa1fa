#!/usr/bin/env bash
# The seeds' management commands: `quantfarm cluster start|status|logs|deploy|scale|
# add-worker|restart|stop` (alias `ctl`), with options after the subcommand. Tried as a
# new user would, `quantfarm ctl shutdown --url URL` failed with "The following
# arguments were not expected"; it now reaches the server. `cluster stop` ends what
# `start` started, by pid, and nothing else: a stale pid file naming another process
# leaves that process alone.
# Usage: cluster_commands_test.sh /path/to/quantfarm
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/cli_test_lib.sh" "$1"
decoy=""
trap '"$QF" cluster stop --state-dir "$WORK/state" > /dev/null 2>&1 || true
      [ -n "$decoy" ] && kill "$decoy" 2> /dev/null; rm -rf "$WORK"' EXIT
"$QF" data synth --store quantfarm.h5 --symbols 3 --bars 300 --seed 5 > /dev/null 2>&1

# Options after the subcommand (the new user's command), against a closed port: the
# error is about the connection, not the arguments.
closed=$(free_port)
expect_failure ctl.err "$QF" ctl shutdown --url "http://127.0.0.1:$closed"
grep -q "not expected" ctl.err && { cat ctl.err; fail "options after the subcommand are refused"; }
expect_contains ctl.err "127.0.0.1:$closed"

port=$(free_port)
url="http://127.0.0.1:$port"
"$QF" cluster start --state-dir state --workers 2 --port "$port" --store quantfarm.h5 \
  --registry reg.db > start.out 2>&1 || { cat start.out state/serve.log; fail "cluster start"; }
expect_contains start.out "ready: $url"
pid=$(cat state/serve.pid)
kill -0 "$pid" || fail "no process $pid after start"
curl -sf "$url/health" > /dev/null || fail "$url/health does not answer"
# A second start from the same state directory is refused, naming the running one.
expect_failure again.err "$QF" cluster start --state-dir state --port "$(free_port)"
expect_contains again.err "is running (pid $pid"

"$QF" cluster status --state-dir state > status.out 2> status.err || { cat status.out status.err; fail "status"; }
expect_contains status.err "running, pid $pid"
/usr/bin/python3 -c "import json; assert json.load(open('status.out'))['ranks'] == 3" ||
  fail "status does not print /status as JSON on stdout: $(cat status.out)"
"$QF" ctl status --json --state-dir state > status.json
/usr/bin/python3 -c "import json; j = json.load(open('status.json')); assert j['cluster']['running'] and j['status']['ranks'] == 3, j" ||
  fail "status --json: $(cat status.json)"

"$QF" cluster deploy --state-dir state --replicas screener=2 > deploy.out || { cat deploy.out; fail "deploy"; }
for _ in $(seq 1 50); do
  curl -s "$url/status" | /usr/bin/python3 -c "import json, sys
assert json.load(sys.stdin)['services']['screener']['replicas'] == 2" 2> /dev/null && break
  sleep 0.1
done
curl -s "$url/status" | /usr/bin/python3 -c "import json, sys
assert json.load(sys.stdin)['services']['screener']['replicas'] == 2" || fail "deploy did not scale the screener"
expect_failure deploy.err "$QF" cluster deploy --state-dir state --replicas screener=zero
expect_contains deploy.err "SERVICE=N"
# add-worker answers (on 2 cores with 3 ranks there is no free slot: an error that says so).
"$QF" cluster add-worker --state-dir state > add.out 2>&1 || expect_contains add.out "slot"

"$QF" cluster logs --state-dir state --lines 500 > logs.out
expect_contains logs.out "quantfarm serve: http://127.0.0.1:$port"
# --follow prints new lines and ends when the cluster stops (here: by the restart).
"$QF" cluster logs --state-dir state --follow --lines 1 > follow.out 2>&1 &
follower=$!
for _ in $(seq 1 100); do [ -s follow.out ] && break; sleep 0.05; done
[ -s follow.out ] || fail "logs --follow printed nothing"

"$QF" cluster restart --state-dir state > restart.out 2>&1 || { cat restart.out; fail "restart"; }
new_pid=$(cat state/serve.pid)
[ "$new_pid" != "$pid" ] || fail "restart kept pid $pid"
kill -0 "$pid" 2> /dev/null && fail "the old cluster $pid outlived the restart"
curl -sf "$url/health" > /dev/null || fail "not healthy after restart"
# The follower printed the old cluster's last lines and ended with it.
for _ in $(seq 1 100); do kill -0 "$follower" 2> /dev/null || break; sleep 0.1; done
kill -0 "$follower" 2> /dev/null && { kill "$follower"; fail "logs --follow did not end with the cluster"; }
expect_contains follow.out "quantfarm serve: stopped"
"$QF" cluster stop --state-dir state > stop.out 2>&1 || { cat stop.out; fail "stop"; }
expect_contains stop.out "stopped pid $new_pid"
kill -0 "$new_pid" 2> /dev/null && fail "$new_pid still runs after stop"
[ -e state/serve.pid ] && fail "the pid file is left"
pgrep -f "serve --port $port " > /dev/null && fail "a rank of the cluster still runs"
"$QF" cluster stop --state-dir state > stop2.out 2>&1 || fail "a second stop fails"
expect_contains stop2.out "no cluster was started"

# A stale pid file naming another process: stop leaves that process alone.
sleep 300 &
decoy=$!
echo "$decoy" > state/serve.pid
"$QF" cluster stop --state-dir state > stale.out 2>&1
expect_contains stale.out "not a quantfarm serve job"
kill -0 "$decoy" || fail "stop killed a process that was not its cluster"
[ -e state/serve.pid ] && fail "the stale pid file is left"
# Nothing runs now: status says so with the head's address.
expect_failure stale-status.err "$QF" cluster status --state-dir state
expect_contains stale-status.err "/status"
echo PASS
