#!/usr/bin/env bash
# `quantfarm experiments list|show|top` and `cache stats|clear` on registries this test
# makes: human tables and JSON, --registry and $QUANTFARM_REGISTRY, and the failures:
# a missing registry (never created by a read or a clear), a file that is not a
# database, a SQLite database of another program, a registry of a newer schema, an
# empty file, a damaged registry, unknown names and bad N: each a clear one-line error
# and exit code 1, with the file left as it was.
# Usage: registry_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
unset QUANTFARM_REGISTRY QUANTFARM_NO_CACHE

# expect_error TEXT CMD...: CMD fails with exit code 1 and one error line naming TEXT.
expect_error() {
  local text="$1" rc=0
  shift
  "$@" > out.log 2> err.log || rc=$?
  [ "$rc" -eq 1 ] || { cat err.log >&2; fail "exit code $rc (not 1): $*"; }
  expect_contains err.log "$text"
  [ "$(grep -c 'quantfarm: error:' err.log)" -eq 1 ] || { cat err.log >&2; fail "not one error"; }
  [ ! -s out.log ] || { cat out.log >&2; fail "printed output on error: $*"; }
}
# unchanged FILE: FILE's bytes are those saved with `snapshot FILE`.
snapshot() { cp "$1" "$1.snapshot"; }
unchanged() { cmp -s "$1" "$1.snapshot" || fail "$1 was changed"; }

# Missing registry: every command refuses and creates nothing.
for cmd in "experiments list" "experiments show x" "experiments top x 3" "cache stats" \
           "cache clear" "cache clear --experiment x"; do
  # shellcheck disable=SC2086
  expect_error "no registry at 'quantfarm.db': run evolve first or pass --registry" "$QF" $cmd
done
expect_error "no registry at 'elsewhere.db'" "$QF" experiments list --registry elsewhere.db
[ -z "$(ls -A | grep -v '\.log$')" ] || { ls -A >&2; fail "a refused command created files"; }

# A registry made by two small runs.
"$QF" data synth --store data.h5 --symbols 1 --bars 800 --seed 3 > /dev/null
cat > a.json <<'JSON'
{"strategy": "ema_crossover", "symbols": ["AAA"], "store": "data.h5", "population": 16,
 "generations": 3, "islands": 2, "seed": 1}
JSON
sed 's/"seed": 1/"seed": 2/' a.json > b.json
"$QF" evolve --config a.json --out alpha.h5 --quiet > /dev/null
"$QF" evolve --config b.json --out beta.h5 --name "beta run" --quiet > /dev/null
[ -f quantfarm.db ] || fail "evolve did not create quantfarm.db"

"$QF" experiments list > list.txt
expect_contains list.txt "name"
expect_contains list.txt "alpha "
expect_contains list.txt "beta run"
expect_contains list.txt "finished"
expect_contains list.txt "3/3"
"$QF" experiments show "beta run" > show.txt
expect_contains show.txt "status        finished"
expect_contains show.txt "results       $WORK/beta.h5"
expect_contains show.txt "best          ema_crossover {"
expect_contains show.txt '"seed": 2'
"$QF" experiments top alpha 2 > top.txt
expect_contains top.txt "rank  fitness"
[ "$(grep -c ema_crossover top.txt)" -eq 2 ] || { cat top.txt; fail "top 2 is not two rows"; }
"$QF" cache stats > stats.txt
expect_contains stats.txt "registry quantfarm.db:"
expect_contains stats.txt "beta run"

# The same through JSON, --registry and $QUANTFARM_REGISTRY (from another directory).
mkdir sub
(cd sub && QUANTFARM_REGISTRY=../quantfarm.db "$QF" experiments list --json) > list.json
"$QF" experiments show alpha --json --registry quantfarm.db > show.json
"$QF" experiments top alpha 1000 --json > top.json
"$QF" cache stats --json > stats.json
/usr/bin/python3 - <<'PY' || fail "JSON outputs"
import h5py, json
experiments = json.load(open("list.json"))
assert [e["name"] for e in experiments] == ["alpha", "beta run"], experiments
show = json.load(open("show.json"))
assert show == experiments[0], (show, experiments[0])
assert show["status"] == "finished" and show["generations_done"] == 3
assert show["config"]["seed"] == 1 and show["config"]["strategy"] == ["ema_crossover"]
f = h5py.File("alpha.h5", "r")
top = json.load(open("top.json"))
assert len(top) == int(f.attrs["evaluated"]) == show["evaluations"], len(top)
values = [t["fitness"] for t in top]
assert values == sorted(values, reverse=True), values
best = json.loads(f.attrs["top"])[0]
assert top[0]["fitness"] == best["fitness"] and top[0]["params"] == best["params"]
assert show["best_fitness"] == best["fitness"]
stats = json.load(open("stats.json"))
assert stats["entries"] >= show["evaluations"]
assert {e["experiment"] for e in stats["experiments"]} == {"alpha", "beta run"}
PY

# Unknown names and bad N: clear errors, nothing changed.
snapshot quantfarm.db
expect_error "no experiment 'gamma' in registry 'quantfarm.db' (known: alpha, beta run)" \
  "$QF" experiments show gamma
expect_error "no experiment 'gamma'" "$QF" experiments top gamma 3
expect_error "no experiment 'gamma'" "$QF" cache clear --experiment gamma
expect_error "N must be >= 1" "$QF" experiments top alpha 0
expect_error "N must be >= 1" "$QF" experiments top alpha -2
if "$QF" experiments top alpha many > /dev/null 2> err.log; then fail "N 'many' accepted"; fi
expect_contains err.log "many"
unchanged quantfarm.db

# An empty registry: no experiments.
cp quantfarm.db empty.db
/usr/bin/python3 -c "
import sqlite3
db = sqlite3.connect('empty.db')
db.execute('DELETE FROM experiments'); db.execute('DELETE FROM experiment_evaluations')
db.execute('DELETE FROM cache'); db.commit()"
"$QF" experiments list --registry empty.db > list.txt
expect_contains list.txt "no experiments in registry 'empty.db'"
[ "$("$QF" experiments list --json --registry empty.db)" = "[]" ] || fail "empty list JSON"
"$QF" cache stats --registry empty.db > stats.txt
expect_contains stats.txt "0 cached evaluations"

# Files that are not registries: refused by every command, left as they were.
head -c 20000 /dev/urandom > garbage.db
/usr/bin/python3 -c "
import sqlite3
db = sqlite3.connect('foreign.db')
db.execute('CREATE TABLE experiments(name TEXT)'); db.execute(\"INSERT INTO experiments VALUES ('x')\")
db.commit()"
cp quantfarm.db newer.db
/usr/bin/python3 -c "
import sqlite3
db = sqlite3.connect('newer.db'); db.execute('PRAGMA user_version = 99'); db.commit()"
: > zero.db
declare -A expected=(
  [garbage.db]="'garbage.db' is not a quantfarm registry (file is not a database)"
  [foreign.db]="'foreign.db' is not a quantfarm registry (a SQLite database of another application)"
  [newer.db]="registry 'newer.db' has schema version 99, written by a newer quantfarm"
  [zero.db]="'zero.db' is not a quantfarm registry (an empty database)"
)
for db in garbage.db foreign.db newer.db zero.db; do
  snapshot "$db"
  for cmd in "experiments list" "experiments show alpha" "experiments top alpha 1" \
             "cache stats"; do
    # shellcheck disable=SC2086
    expect_error "${expected[$db]}" "$QF" $cmd --registry "$db"
  done
  if [ "$db" != zero.db ]; then  # writers make an empty file a registry
    expect_error "${expected[$db]}" "$QF" cache clear --registry "$db"
    expect_error "${expected[$db]}" "$QF" evolve --config a.json --out x.h5 --registry "$db"
  fi
  unchanged "$db"
done
[ ! -e x.h5 ] || fail "evolve wrote results with a bad registry"

# A damaged registry (pages overwritten after the header): an error, not a crash.
cp quantfarm.db damaged.db
/usr/bin/python3 -c "
import os
size = os.path.getsize('damaged.db')
with open('damaged.db', 'r+b') as f:
    f.seek(4096); f.write(bytes((i * 37 + 11) % 256 for i in range(size - 4096)))"
for cmd in "experiments list" "experiments top alpha 5" "cache stats"; do
  rc=0
  # shellcheck disable=SC2086
  "$QF" $cmd --registry damaged.db > /dev/null 2> err.log || rc=$?
  [ "$rc" -eq 1 ] || { cat err.log >&2; fail "damaged registry: '$cmd' exit code $rc"; }
  expect_contains err.log "'damaged.db' is damaged"
done

# cache clear: everything, then the experiments stay.
"$QF" cache clear > clear.out
expect_contains clear.out "cached evaluations from quantfarm.db"
[ "$("$QF" experiments top alpha 3 --json)" = "[]" ] || fail "entries left after clear"
"$QF" experiments top alpha 3 > top.txt
expect_contains top.txt "experiment 'alpha' has no cached evaluations"
[ "$("$QF" experiments list --json | grep -c '"name"')" -eq 2 ] || fail "experiments lost"
echo "registry CLI tests passed"
