#!/usr/bin/env bash
# `evolve` on the search engine gives, for the config in tests/fixtures/evolve_v1, the
# results file the GA driver wrote before the engine existed (written by commit
# c8f3f05's binary): /generations, /best_per_island, the top list and the number of
# distinct evaluations bit-identical, locally and under mpirun -np 3.
# Usage: evolve_fixture_test.sh /path/to/quantfarm
FIXTURE="$(readlink -f "$(dirname "$0")/../fixtures/evolve_v1")"
source "$(dirname "$0")/cli_test_lib.sh" "$1"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --enable-recovery --mca btl self,vader)

# The fixture's data, regenerated (data synth is deterministic).
"$QF" data synth --store data.h5 --symbols 2 --bars 1500 --seed 5 > /dev/null
cp "$FIXTURE/evolve.json" evolve.json
"$QF" evolve --config evolve.json --out local.h5 --quiet > /dev/null
same_results "$FIXTURE/results.h5" local.h5 6 || fail "evolve differs from the fixture"
"${MPIRUN[@]}" -np 3 "$QF" evolve --config evolve.json --out np3.h5 --quiet > /dev/null 2>&1
same_results "$FIXTURE/results.h5" np3.h5 6 || fail "evolve -np 3 differs from the fixture"
echo "evolve matches the fixture written before the search engine"
