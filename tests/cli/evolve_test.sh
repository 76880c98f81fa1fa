#!/usr/bin/env bash
# `quantfarm evolve` locally and under mpirun: the same config and seed give
# bit-identical populations and fitness on 1, 2, 3 and 4 ranks (oversubscribed) and
# in local mode; the results file holds what it promises; bad configs are rejected
# with a message naming the key, on one line, and no results file is written.
# Usage: evolve_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --enable-recovery --mca btl self,vader)

"$QF" data synth --store data.h5 --symbols 2 --bars 1500 --seed 5 > /dev/null
cat > evolve.json <<'JSON'
{"strategy": ["zscore_reversion", "bollinger_reversion"], "symbols": ["AAA", "BBB"],
 "store": "data.h5", "population": 48, "generations": 6, "islands": 4,
 "migration_interval": 2, "migration_size": 2, "crossover": "sbx",
 "fitness": {"metric": "sharpe", "min_trades": 5, "max_drawdown": 0.6},
 "split": {"in_sample": 0.7}, "seed": 11}
JSON

"$QF" evolve --config evolve.json --out local.h5 > local.out
expect_contains local.out "gen 6/6"
expect_contains local.out "results: local.h5"
for np in 1 2 3 4; do
  "${MPIRUN[@]}" -np "$np" "$QF" evolve --config evolve.json --out "np$np.h5" --quiet \
    > "np$np.out" 2> "np$np.err" || { cat "np$np.err"; fail "mpirun -np $np failed"; }
done
# Worker ranks sharing their indicator series through the node's table.
for np in 3 4; do
  "${MPIRUN[@]}" -np "$np" "$QF" evolve --config evolve.json --out "np${np}s.h5" --quiet \
    --shared-series > "np${np}s.out" 2> "np${np}s.err" ||
    { cat "np${np}s.err"; fail "mpirun -np $np --shared-series failed"; }
done

/usr/bin/python3 - <<'PY' || fail "results differ between rank counts"
import h5py, json, numpy as np
def columns(path):
    f = h5py.File(path, "r")
    out = {}
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out[name] = obj[:].tobytes()
    f["generations"].visititems(visit)
    f["best_per_island"].visititems(visit)
    return f, out
base_file, base = columns("local.h5")
assert len([k for k in base if k.endswith("/fitness")]) == 6, "six generations"
for path in ["np1.h5", "np2.h5", "np3.h5", "np4.h5", "np3s.h5", "np4s.h5"]:
    f, other = columns(path)
    assert other.keys() == base.keys(), path
    for k in base:
        assert other[k] == base[k], f"{path}: {k} differs"
    assert json.loads(f.attrs["top"]) == json.loads(base_file.attrs["top"]), path
# What the file promises.
config = json.loads(base_file.attrs["config"])
assert config["seed"] == 11 and config["strategy"] == ["zscore_reversion", "bollinger_reversion"]
g = base_file["generations/0005"]
assert g["id"].shape == (48,) and g["gene_2"].shape == (48,)
strategies = set(g["strategy"][:].tolist())
assert strategies == {0, 1}, strategies       # both strategies evolved (islands alternate)
top = json.loads(base_file.attrs["top"])
assert len(top) == 5 and "out_of_sample" in top[0]["metrics"]["AAA"]
assert int(h5py.File("np3.h5", "r").attrs["workers"]) == 2
print("bit-identical on local, np 1..4")
PY

# Bad configs: a clear message naming the key, printed once, nothing written. (Without
# --enable-recovery: with it, Open MPI 4.1's mpirun exits 0 whatever the ranks return.)
bad() {  # bad EXPECTED JSON
  echo "$2" > bad.json
  expect_failure err.log mpirun --allow-run-as-root --oversubscribe --mca btl self,vader -np 2 \
    "$QF" evolve --config bad.json --out bad.h5
  expect_contains err.log "$1"
  [ "$(grep -c 'quantfarm: error' err.log)" -eq 1 ] || { cat err.log; fail "error not printed once"; }
  [ ! -e bad.h5 ] || fail "a rejected run wrote results"
}
bad "malformed JSON" '{"strategy": "ema_crossover", '
bad "unknown key 'populaton'" '{"strategy": "ema_crossover", "symbols": ["AAA"], "store": "data.h5", "populaton": 10}'
bad "'population'" '{"strategy": "ema_crossover", "symbols": ["AAA"], "store": "data.h5", "population": "many"}'
bad "unknown strategy" '{"strategy": "ema_crossing", "symbols": ["AAA"], "store": "data.h5"}'
bad "symbol 'ZZZ'" '{"strategy": "ema_crossover", "symbols": ["ZZZ"], "store": "data.h5"}'
bad "does not exist" '{"strategy": "ema_crossover", "symbols": ["AAA"], "store": "missing.h5"}'
expect_failure err.log "$QF" evolve --config evolve.json --out no-such-dir/r.h5
expect_contains err.log "does not exist or is not writable"
expect_failure err.log "$QF" evolve --config no-such-file.json --out bad.h5
expect_contains err.log "cannot read config file 'no-such-file.json'"
[ ! -e bad.h5 ] || fail "a rejected run wrote results"
echo "evolve CLI tests passed"
