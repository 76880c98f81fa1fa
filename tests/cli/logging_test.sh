#!/usr/bin/env bash
# Logs of a serving cluster (spdlog on every rank): `--log-file` gathers the lines of
# all three ranks in one file, each with its rank and service; `--log-format json`
# writes JSON lines; `--log-level warn` drops info lines; a tiny `--log-rotate-mb`
# rotates the file, keeping `--log-keep` old ones; a bad flag is an error before
# anything starts. No secret (the API token, the connectors' keys) reaches a log, even
# when a warning quotes a variable that holds one.
# Usage: logging_test.sh /path/to/quantfarm
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/cli_test_lib.sh" "$1"
PY=/usr/bin/python3
pid=""
trap '[ -n "$pid" ] && kill $pid 2> /dev/null; rm -rf "$WORK"' EXIT
"$QF" data synth --store quantfarm.h5 --symbols 3 --bars 300 --seed 5 > /dev/null 2>&1
export QUANTFARM_API_TOKEN="tok-$RANDOM-$RANDOM-secret"
export BINANCE_API_KEY="bk-$RANDOM-$RANDOM-key" ALPHA_VANTAGE_API_KEY="av-$RANDOM-$RANDOM-key"
# Malformed values the algorunner and the screener warn about, on every replica,
# quoting them: here the token and a key themselves.
export ALGORUNNER_MAX_CONCURRENT="$QUANTFARM_API_TOKEN" SCREENER_MAX_RESULTS="$BINANCE_API_KEY"

start() {  # start LOG FLAGS...: a 3-rank cluster on $port; sets pid and url
  local log="$1"; shift
  port=$(free_port)
  url="http://127.0.0.1:$port"
  timeout 120 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader -x QUANTFARM_API_TOKEN \
    -x BINANCE_API_KEY -x ALPHA_VANTAGE_API_KEY -x ALGORUNNER_MAX_CONCURRENT -x SCREENER_MAX_RESULTS -np 3 "$QF" serve \
    --port "$port" --store quantfarm.h5 --registry reg.db --replicas-per-worker 2 "$@" > "$log" 2>&1 &
  pid=$!
  wait_serve "$url" "$pid" "$log"
}
stop() {  # stop LOG
  curl -s -o /dev/null -X POST -H "Authorization: Bearer $QUANTFARM_API_TOKEN" "$url/api/cluster/shutdown"
  wait "$pid" || { cat "$1"; fail "serve exited non-zero"; }
  pid=""
}

# JSON lines from every rank into one file.
start serve-json.out --log-file job.jsonl --log-format json
curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer wrong-$QUANTFARM_API_TOKEN" \
  "$url/api/cluster/scale" -d '{"service": "screener", "replicas": 2}' | grep -q 401 || fail "a wrong token was accepted"
curl -s -o /dev/null -X POST -H "Authorization: Bearer $QUANTFARM_API_TOKEN" \
  "$url/api/cluster/scale" -d '{"service": "screener", "replicas": 2}'
curl -s "$url/status?token=$QUANTFARM_API_TOKEN" > /dev/null
stop serve-json.out
"$PY" - <<'PY' || fail "job.jsonl is not JSON lines from the three ranks: $(head -c 2000 job.jsonl)"
import json
lines = [json.loads(l) for l in open("job.jsonl")]
assert lines, "no line"
for l in lines:
    assert set(l) == {"time", "level", "rank", "pid", "service", "msg"}, l
ranks = {l["rank"] for l in lines}
assert ranks == {0, 1, 2}, ranks
services = {l["service"] for l in lines}
assert {"serve", "router", "algorunner", "screener"} <= services, services
assert any("ALGORUNNER_MAX_CONCURRENT='***'" in l["msg"] for l in lines if l["rank"] > 0)
assert any("SCREENER_MAX_RESULTS='***'" in l["msg"] for l in lines if l["rank"] > 0)
assert any("quantfarm serve: stopped" in l["msg"] for l in lines if l["rank"] == 0)
PY

# --log-level warn: warnings only; text lines carry the rank and service.
start serve-warn.out --log-file job.log --log-level warn
stop serve-warn.out
grep -q " info " job.log && fail "--log-level warn wrote info lines: $(grep ' info ' job.log | head -3)"
grep -qE "^[0-9T:.-]+Z warn rank [12] algorunner: ALGORUNNER_MAX_CONCURRENT='\*\*\*'" job.log ||
  fail "no warning of a worker rank in job.log: $(cat job.log)"

# Rotation: 1 KB files, two old ones kept; each scale logs the replicas it starts or
# stops.
start serve-rotate.out --log-file rot.log --log-rotate-mb 0.001 --log-keep 2
for i in $(seq 1 12); do
  curl -s -o /dev/null -X POST -H "Authorization: Bearer $QUANTFARM_API_TOKEN" \
    "$url/api/cluster/scale" -d "{\"service\": \"screener\", \"replicas\": $(( i % 2 + 1 ))}"
done
stop serve-rotate.out
[ -s rot.log ] && [ -s rot.log.1 ] && [ -s rot.log.2 ] || { ls -la; fail "rot.log was not rotated"; }
[ -e rot.log.3 ] && fail "more than --log-keep 2 rotated files"
for f in rot.log rot.log.1 rot.log.2; do
  [ "$(stat -c %s "$f")" -le 1049 ] || fail "$f is over the 1 KB limit"
done

# Bad flags: an error naming the flag, before anything starts.
expect_failure bad.err "$QF" serve --port "$(free_port)" --log-level loud
expect_contains bad.err "--log-level"
expect_failure bad2.err "$QF" serve --port "$(free_port)" --log-file "$WORK/no/such/dir/x.log"
expect_contains bad2.err "cannot open log file"

# No secret in any log or output.
for secret in "$QUANTFARM_API_TOKEN" "$BINANCE_API_KEY" "$ALPHA_VANTAGE_API_KEY"; do
  if grep -rlF -- "$secret" . > leaked.txt; then
    fail "a secret is in $(cat leaked.txt | tr '\n' ' ')"
  fi
done
echo PASS
