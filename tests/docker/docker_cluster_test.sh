#!/usr/bin/env bash
# The Docker cluster (docker/Dockerfile, docker/compose.yaml, docker/entrypoint.sh): a
# head and two workers, one container each, on the host's network, mpirun over ssh.
#  a. `quantfarm evolve` of examples/evolve.json under `mpirun -np 3` across the
#     containers (rank 0 on the head, rank 1 on worker1, rank 2 on worker2: --map-by
#     node, checked with --display-map) gives the results file of
#     `mpirun -np 3 quantfarm evolve` on the host, bit for bit;
#  b. a failing job (an unknown strategy) makes `docker-compose up --exit-code-from head`
#     exit non-zero, with quantfarm's error in the log;
#  c. `quantfarm serve` in the containers answers the host's curl on 127.0.0.1 (health,
#     a screener request served by a replica in a worker container, which sees the
#     configuration variables passed through), and `quantfarm ctl shutdown` from the
#     host ends the job: exit code 0, every container stopped.
# It starts its own dockerd (private socket and pid file, the default /var/lib/docker so
# the base image stays cached), makes the base image once (debootstrap, about 40 s) and
# the `prebuilt` image around the binary under test; on exit it removes every container
# it started, runs `docker-compose down` and stops its dockerd.
# Needs root, docker.io, docker-compose, debootstrap (scripts/install-deps.sh).
# Usage: docker_cluster_test.sh /path/to/quantfarm
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/tests/cli/cli_test_lib.sh" "$1"

SOCK=/run/qf-docker.sock
PIDFILE=/run/qf-docker.pid
EXEC_ROOT=/run/qf-docker
DATA_ROOT=/var/lib/docker
IMAGE=quantfarm:docker-test
COMPOSE_FILE="$ROOT/docker/compose.yaml"
DOCKER=/usr/bin/docker  # docker.io's client, the daemon's version
[ -x "$DOCKER" ] || DOCKER=$(command -v docker || true)
export DOCKER DOCKER_HOST="unix://$SOCK" DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
start_time=$SECONDS

DOCKERD_PID=""
PROJECTS=()
BG_PIDS=()
cleanup() {
  local rc=$? p n pid
  set +e
  trap - EXIT
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2> /dev/null; done
  if [ -n "$DOCKERD_PID" ]; then
    for pid in "${BG_PIDS[@]}"; do
      for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.2; done
    done
    remove_test_containers
    for p in "${PROJECTS[@]}"; do
      for n in $(timeout 20 "$DOCKER" ps -a --filter "label=com.docker.compose.project=$p" \
                   --format '{{.Names}}'); do
        timeout 30 "$DOCKER" rm -f "$n" > /dev/null
      done
      timeout 60 docker-compose -p "$p" -f "$COMPOSE_FILE" down -v --remove-orphans \
        > /dev/null 2>&1
    done
    left=$(timeout 20 "$DOCKER" ps -a --filter "label=qf.docker-test" -q)
    for p in "${PROJECTS[@]}"; do
      left+=$(timeout 20 "$DOCKER" ps -a -q --filter "label=com.docker.compose.project=$p")
    done
    [ -z "$left" ] || { echo "FAIL: containers left after teardown: $left" >&2; rc=1; }
    # dockerd's own containerd: stopped with it, else by its pid.
    local containerd
    containerd=$(pgrep -P "$DOCKERD_PID" -x containerd)
    kill -TERM "$DOCKERD_PID" 2> /dev/null
    for _ in $(seq 1 100); do kill -0 "$DOCKERD_PID" 2> /dev/null || break; sleep 0.2; done
    if kill -0 "$DOCKERD_PID" 2> /dev/null; then
      echo "dockerd $DOCKERD_PID did not stop within 20 s: killing it" >&2
      kill -KILL "$DOCKERD_PID" 2> /dev/null
    fi
    for pid in $containerd; do
      for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2> /dev/null
    done
    rm -f "$SOCK" "$PIDFILE"
    # dockerd leaves its default network namespace mounted in its exec root.
    if ! kill -0 "$DOCKERD_PID" 2> /dev/null; then
      while mountpoint -q "$EXEC_ROOT/netns/default"; do
        umount "$EXEC_ROOT/netns/default" || break
      done
      rm -rf "$EXEC_ROOT"
    fi
  fi
  cd /
  rm -rf "$WORK"
  echo "docker_cluster_test: $((SECONDS - start_time)) s, exit $rc"
  exit $rc
}
trap cleanup EXIT

# remove_test_containers: every container of this test's projects or image, by name
# (also those a killed run left in $DATA_ROOT).
remove_test_containers() {
  local n
  for n in $(timeout 20 "$DOCKER" ps -a --filter "label=qf.docker-test" --format '{{.Names}}'); do
    timeout 30 "$DOCKER" rm -f "$n" > /dev/null
  done
}

# fail_log LOG MESSAGE: prints LOG, then fails.
fail_log() { echo "--- $1:" >&2; cat "$1" >&2; fail "$2"; }

[ "$(id -u)" -eq 0 ] || fail "needs root (it starts dockerd)"
for c in dockerd docker-compose debootstrap curl "$DOCKER"; do
  command -v "$c" > /dev/null || fail "$c is not installed (scripts/install-deps.sh)"
done
# Another dockerd on the same data root would be disturbed: refuse to start a second.
for pid in $(pgrep -x dockerd || true); do
  root=$(tr '\0' '\n' < "/proc/$pid/cmdline" | sed -n 's/^--data-root=//p; /^--data-root$/{n;p}')
  [ "${root:-/var/lib/docker}" != "$DATA_ROOT" ] ||
    fail "another dockerd (pid $pid) uses $DATA_ROOT: stop it first"
done
[ ! -S "$SOCK" ] || rm -f "$SOCK"  # no dockerd runs on it (checked above)

echo "== dockerd on $SOCK"
dockerd --iptables=false --bridge=none -H "$DOCKER_HOST" --pidfile "$PIDFILE" \
  --exec-root "$EXEC_ROOT" --data-root "$DATA_ROOT" > "$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 1 150); do
  timeout 5 "$DOCKER" version > /dev/null 2>&1 && break
  kill -0 "$DOCKERD_PID" 2> /dev/null || fail_log "$WORK/dockerd.log" "dockerd exited at start-up"
  sleep 0.2
done
timeout 5 "$DOCKER" version > /dev/null 2>&1 || fail_log "$WORK/dockerd.log" "dockerd not ready in 30 s"

remove_test_containers

echo "== base image"
timeout 300 "$ROOT/scripts/docker-base-image.sh" || fail "scripts/docker-base-image.sh failed"

echo "== image $IMAGE (target prebuilt, around $QF)"
# A small context: only what the prebuilt target copies.
mkdir -p ctx/docker ctx/build/app
cp "$ROOT/docker/entrypoint.sh" ctx/docker/
cp "$QF" ctx/build/app/quantfarm
old=$("$DOCKER" image inspect -f '{{.Id}}' "$IMAGE" 2> /dev/null || true)
timeout 300 "$DOCKER" build --network host -f "$ROOT/docker/Dockerfile" --target prebuilt \
  --label qf.docker-test=1 -t "$IMAGE" ctx > build.log 2>&1 || fail_log build.log "docker build failed"
new=$("$DOCKER" image inspect -f '{{.Id}}' "$IMAGE")
# The previous test image (now untagged) goes; the layers the new one shares stay cached.
[ -z "$old" ] || [ "$old" = "$new" ] || "$DOCKER" rmi "$old" > /dev/null 2>&1 || true
echo "built in $((SECONDS - start_time)) s since the start"

# The cluster's settings (docker/compose.yaml): host directories for the store and the
# registry, free loopback ports for the sshds.
mkdir -p cluster/data registry host/data
export QF_IMAGE="$IMAGE" QF_DATA="$WORK/cluster" QF_REGISTRY="$WORK/registry"
export QF_HEAD_SSH_PORT=$(free_port) QF_WORKER1_SSH_PORT=$(free_port) QF_WORKER2_SSH_PORT=$(free_port)
[ "$QF_HEAD_SSH_PORT" != "$QF_WORKER1_SSH_PORT" ] && [ "$QF_WORKER1_SSH_PORT" != "$QF_WORKER2_SSH_PORT" ] &&
  [ "$QF_HEAD_SSH_PORT" != "$QF_WORKER2_SSH_PORT" ] || fail "free_port gave one port twice"
export QF_WAIT_WORKERS=60
# compose PROJECT ARGS...: docker-compose on the project's file, bounded.
compose() {
  local p=$1; shift
  timeout 240 docker-compose --ansi never -p "$p" -f "$COMPOSE_FILE" "$@"
}
new_project() {  # new_project NAME: a unique compose project name, torn down on exit
  PROJECT="qfdt$$$1"
  PROJECTS+=("$PROJECT")
}
running() {  # running PROJECT: the project's running containers
  "$DOCKER" ps -q --filter "label=com.docker.compose.project=$1"
}

# --- a. evolve across the containers == evolve on the host, bit for bit.
"$QF" data synth --symbols 4 --bars 2520 --seed 42 --store cluster/data/quantfarm.h5 > /dev/null
cp cluster/data/quantfarm.h5 host/data/
cp "$ROOT/examples/evolve.json" cluster/evolve.json
cp "$ROOT/examples/evolve.json" host/evolve.json
(cd host && timeout 120 mpirun --allow-run-as-root --oversubscribe -np 3 "$QF" evolve \
   --config evolve.json --out results.h5 --registry host.db --quiet) > host.log 2>&1 ||
  fail_log host.log "evolve under mpirun on the host failed"

echo "== a. evolve across head + 2 workers (mpirun -np 3 --map-by node)"
new_project a
export QF_HEAD_COMMAND="quantfarm evolve --config evolve.json --out results.h5 --quiet"
export QF_MPIRUN_ARGS=--display-map
t0=$SECONDS
compose "$PROJECT" up --exit-code-from head > a.log 2>&1 || fail_log a.log "the evolve cluster exited $?"
echo "cluster run: $((SECONDS - t0)) s"
[ -f cluster/results.h5 ] || fail_log a.log "no results file from the cluster"
# Where the ranks ran (mpirun --display-map): rank 0 on the head, one per worker.
placement=$(sed -n 's/.*Data for node: \([^[:space:]]*\).*/node \1/p; s/.*Process rank: \([0-9]*\).*/rank \1/p' a.log |
            awk '$1 == "node" { n = $2 } $1 == "rank" { print n ":" $2 }' | sort | tr '\n' ' ')
[ "$placement" = "head:0 worker1:1 worker2:2 " ] ||
  fail_log a.log "ranks not placed one per container: '$placement'"
expect_contains a.log "qf-entrypoint: worker worker1 answers"
expect_contains a.log "qf-entrypoint: worker worker2 answers"
same_results host/results.h5 cluster/results.h5 20
/usr/bin/python3 -c "import h5py, sys
f = h5py.File(sys.argv[1], 'r')
assert f.attrs['ranks'] == b'3' and f.attrs['workers'] == b'2', (f.attrs['ranks'], f.attrs['workers'])" \
  cluster/results.h5 || fail "the cluster's results do not come from 3 ranks, 2 workers"
[ -z "$(running "$PROJECT")" ] || fail "containers of the evolve cluster still run"
echo "a. evolve on 3 containers: bit-identical to mpirun -np 3 on the host (placement $placement)"

# --- b. a failing job: the exit code of up --exit-code-from head is not 0.
echo "== b. a failing job"
new_project b
sed 's/"bollinger_reversion"/"no_such_strategy"/' "$ROOT/examples/evolve.json" > cluster/bad.json
grep -q no_such_strategy cluster/bad.json || fail "bad.json does not name the unknown strategy"
export QF_HEAD_COMMAND="quantfarm evolve --config bad.json --out bad.h5 --quiet"
export QF_MPIRUN_ARGS=
set +e
compose "$PROJECT" up --exit-code-from head > b.log 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || fail_log b.log "up --exit-code-from head exited 0 for a failing job"
[ "$rc" -ne 124 ] || fail_log b.log "the failing job hung (timeout)"
expect_contains b.log "unknown strategy 'no_such_strategy'"
expect_contains b.log "qf-entrypoint: mpirun"
[ -z "$(running "$PROJECT")" ] || fail "containers of the failing job still run"
echo "b. failing job: docker-compose up --exit-code-from head exited $rc"

# --- c. serve in the containers, from the host: health, a request, shutdown.
echo "== c. quantfarm serve in the containers"
new_project c
"$QF" data synth --symbols 6 --bars 1000 --seed 3 --store cluster/quantfarm.h5 > /dev/null
port=$(free_port)
url="http://127.0.0.1:$port"
export QF_HEAD_COMMAND="quantfarm serve --bind 127.0.0.1 --port $port"
export QUANTFARM_API_TOKEN=qf-docker-test SCREENER_MAX_RESULTS=2
timeout 240 docker-compose --ansi never -p "$PROJECT" -f "$COMPOSE_FILE" \
  up --exit-code-from head > c.log 2>&1 &
UP_PID=$!  # timeout's pid: a TERM reaches docker-compose
BG_PIDS+=("$UP_PID")
for _ in $(seq 1 300); do
  curl -sf --max-time 2 "$url/health" > health.json 2> /dev/null && break
  kill -0 "$UP_PID" 2> /dev/null || fail_log c.log "the serve cluster exited at start-up"
  sleep 0.2
done
curl -sf --max-time 5 "$url/health" > health.json || fail_log c.log "serve did not answer $url/health in 60 s"
expect_contains health.json '"status":"healthy"'
curl -sf --max-time 5 "$url/status" > status.json || fail_log c.log "GET /status failed"
/usr/bin/python3 -c "import json; s = json.load(open('status.json'))
assert s['ranks'] == 3 and len(s['workers']) == 2, s
assert s['slots'] == 6, s  # QF_SLOTS=2 per container: 3 spare slots for MPI_Comm_spawn" ||
  { cat status.json; fail "GET /status: not 3 ranks, 2 workers, 6 slots"; }
# The service replicas run on the worker ranks, in the worker containers; the variables
# passed through reach them (SCREENER_MAX_RESULTS) and the head (QUANTFARM_API_TOKEN).
code=$(curl -s -o screen.json -w '%{http_code}' --max-time 5 -X POST "$url/api/screener/screen" -d '{"limit": 2}')
[ "$code" = 401 ] || { cat screen.json; fail "POST without the token answered $code, not 401"; }
auth=(-H "Authorization: Bearer $QUANTFARM_API_TOKEN")
code=$(curl -s -o screen.json -w '%{http_code}' --max-time 5 "${auth[@]}" -X POST "$url/api/screener/screen" -d '{"limit": 2}')
[ "$code" = 200 ] || { cat screen.json; fail "POST /api/screener/screen answered $code"; }
expect_contains screen.json '"symbol":"AAA"'
code=$(curl -s -o screen3.json -w '%{http_code}' --max-time 5 "${auth[@]}" -X POST "$url/api/screener/screen" -d '{"limit": 3}')
[ "$code" = 400 ] || { cat screen3.json; fail "limit 3 above SCREENER_MAX_RESULTS=2 answered $code"; }
expect_contains screen3.json "1..2"
"$QF" ctl --url "$url" --token "$QUANTFARM_API_TOKEN" shutdown > shutdown.out 2>&1 ||
  fail_log shutdown.out "quantfarm ctl shutdown failed"
for _ in $(seq 1 300); do kill -0 "$UP_PID" 2> /dev/null || break; sleep 0.2; done
kill -0 "$UP_PID" 2> /dev/null && fail_log c.log "the serve cluster did not exit within 60 s of shutdown"
set +e
wait "$UP_PID"
rc=$?
set -e
BG_PIDS=()
[ "$rc" -eq 0 ] || fail_log c.log "the serve cluster exited $rc after shutdown"
expect_contains c.log "quantfarm serve: stopped"
[ -z "$(running "$PROJECT")" ] || fail "containers of the serve cluster still run after shutdown"
unset QUANTFARM_API_TOKEN SCREENER_MAX_RESULTS
echo "c. serve in containers: /health, a screener request on a worker, ctl shutdown: exit 0"

echo "docker cluster: all passed"
