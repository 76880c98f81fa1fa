#!/usr/bin/env bash
# CLI round trips of company fundamentals: `data synth` writes a synthetic universe's
# fundamentals, `data import-fundamentals` merges a CSV into the store, and rejected
# files fail with file:line errors and leave the store untouched.
# Usage: fundamentals_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"

# Reads the store's fundamentals as "symbol|name|sector|market_cap|pe|dividend_yield".
dump_fundamentals() {
  /usr/bin/python3 - "$1" <<'PY'
import h5py, sys
g = h5py.File(sys.argv[1], "r")["fundamentals"]
cols = [g[c][:] for c in ("symbol", "name", "sector", "market_cap", "pe", "dividend_yield")]
for row in zip(*cols):
    print("|".join(v.decode() if isinstance(v, bytes) else repr(float(v)) for v in row))
PY
}

# --- synth writes fundamentals for its symbols, deterministically ------------------
"$QF" data synth --store s.h5 --symbols 3 --bars 50 --seed 7 > synth.out 2> synth.err
[ "$(wc -l < synth.out)" -eq 3 ] || fail "synth prints one line per series"
expect_contains synth.err "wrote fundamentals of 3 symbols into s.h5"
dump_fundamentals s.h5 > f1.txt
[ "$(wc -l < f1.txt)" -eq 3 ] || fail "3 fundamentals rows"
grep -q '^AAA|AAA [A-Za-z]*|[A-Za-z ]*|' f1.txt || { cat f1.txt; fail "row format"; }
"$QF" data synth --store s2.h5 --symbols 3 --bars 50 --seed 7 > /dev/null 2>&1
dump_fundamentals s2.h5 > f2.txt
cmp -s f1.txt f2.txt || fail "same seed should give the same fundamentals"
"$QF" data synth --store s3.h5 --symbols 3 --bars 50 --seed 8 > /dev/null 2>&1
dump_fundamentals s3.h5 > f3.txt
cmp -s f1.txt f3.txt && fail "another seed should give other fundamentals"
"$QF" data list --store s.h5 > list.out
[ "$(tail -n +2 list.out | wc -l)" -eq 3 ] || fail "fundamentals are not a series"

# --- import merges by symbol and keeps the series ----------------------------------
cat > f.csv <<'CSV'
symbol,name,sector,market_cap,pe,dividend_yield
AAA,"Acme, Inc.",Technology,2500000000,21.5,1.25
NEWCO,New Co,Energy,1000000,,0
CSV
hash_before="$("$QF" data list --store s.h5 --json | grep content_hash | head -1)"
"$QF" data import-fundamentals --csv f.csv --store s.h5 > import.out
expect_contains import.out "imported fundamentals of 2 symbols from f.csv into s.h5 (4 symbols stored)"
dump_fundamentals s.h5 > f4.txt
expect_contains f4.txt "AAA|Acme, Inc.|Technology|2500000000.0|21.5|1.25"
expect_contains f4.txt "NEWCO|New Co|Energy|1000000.0|nan|0.0"
grep -q '^BBB|' f4.txt || fail "other symbols are kept"
[ "$("$QF" data list --store s.h5 --json | grep content_hash | head -1)" = "$hash_before" ] \
  || fail "importing fundamentals changed the series"
# Re-synthesizing the bars keeps imported fundamentals of other symbols.
"$QF" data synth --store s.h5 --symbols 3 --bars 50 --seed 7 > /dev/null 2>&1
dump_fundamentals s.h5 | grep -q '^NEWCO|' || fail "synth dropped imported fundamentals"

# --- rejected files change nothing ------------------------------------------------
sha_before="$(sha256sum s.h5)"
printf 'symbol,name,sector,market_cap,pe,dividend_yield\nAAA,A,Tech,1,2,3\nBBB,B,Tech,lots,2,3\n' > bad.csv
expect_failure err.log "$QF" data import-fundamentals --csv bad.csv --store s.h5
expect_contains err.log "quantfarm: error: bad.csv:3: column 'market_cap': 'lots' is not a number"
printf 'symbol,name,sector,market_cap,pe,dividend_yield\nAAA,A,Tech,1,2,3\nAAA,A,Tech,1,2,3\n' > dup.csv
expect_failure err.log "$QF" data import-fundamentals --csv dup.csv --store s.h5
expect_contains err.log "dup.csv:3: symbol 'AAA' given twice"
printf 'symbol,name,market_cap\nAAA,A,1\n' > nocol.csv
expect_failure err.log "$QF" data import-fundamentals --csv nocol.csv --store s.h5
expect_contains err.log "nocol.csv:1: header has no 'sector' column"
printf 'symbol,name,sector,market_cap,pe,dividend_yield\nA/B,A,Tech,1,2,3\n' > sym.csv
expect_failure err.log "$QF" data import-fundamentals --csv sym.csv --store s.h5
expect_contains err.log "sym.csv:2: column 'symbol': invalid symbol 'A/B'"
expect_failure err.log "$QF" data import-fundamentals --csv missing.csv --store s.h5
expect_contains err.log "missing.csv: cannot read file"
[ "$(sha256sum s.h5)" = "$sha_before" ] || fail "rejected imports changed the store"
expect_failure err.log "$QF" data import-fundamentals --csv bad.csv --store new.h5
[ ! -e new.h5 ] || fail "a rejected import created a store"
ls | grep -q '\.tmp\.' && fail "temp file left behind"

echo "fundamentals CLI tests passed"
