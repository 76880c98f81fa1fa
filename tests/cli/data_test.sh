#!/usr/bin/env bash
# CLI round trips of `quantfarm data`: synth -> list -> show, CSV import -> show, and
# rejected input that must fail loudly and leave the store untouched.
# Usage: data_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"

# --- synth -> list -> show --------------------------------------------------------
"$QF" data synth --store s.h5 --symbols 3 --bars 300 --seed 7 > synth.out
[ "$(wc -l < synth.out)" -eq 3 ] || fail "synth should print one line per symbol"
expect_contains synth.out "wrote AAA/1d: 300 bars 2000-01-03"
expect_contains synth.out "wrote CCC/1d"

"$QF" data list --store s.h5 > list.out
expect_contains list.out "symbol"
[ "$(grep -c '^[A-C]\{3\} ' list.out)" -eq 3 ] || fail "list should show 3 series"
grep -q '^AAA  *1d  *300  *2000-01-03  *[0-9-]*  *[0-9a-f]\{16\}$' list.out \
  || { cat list.out; fail "list row format"; }

"$QF" data list --store s.h5 --json > list.json
expect_contains list.json '"symbol": "BBB"'
expect_contains list.json '"bars": 300'
expect_contains list.json '"source": "synth seed=7 symbols=3 bars=300 timeframe=1d"'
hash_aaa="$(grep '^AAA ' list.out | awk '{print $6}')"
expect_contains list.json "\"content_hash\": \"$hash_aaa\""

"$QF" data show --store s.h5 --symbol AAA > show.csv 2> show.err
[ "$(head -1 show.csv)" = "time,open,high,low,close,volume" ] || fail "show header"
[ "$(wc -l < show.csv)" -eq 11 ] || fail "show prints 10 rows by default"
[ "$(sed -n 2p show.csv | cut -d, -f1)" = "2000-01-03" ] || fail "show first date"
expect_contains show.err "AAA/1d: 300 bars"
"$QF" data show --store s.h5 --symbol AAA --tail 2 > tail.csv 2>/dev/null
[ "$(wc -l < tail.csv)" -eq 3 ] || fail "--tail 2 prints 2 rows"
"$QF" data show --store s.h5 --symbol AAA --all > all.csv 2>/dev/null
[ "$(wc -l < all.csv)" -eq 301 ] || fail "--all prints every row"
[ "$(tail -1 all.csv)" = "$(tail -1 tail.csv)" ] || fail "--tail ends at the last bar"
"$QF" data show --store s.h5 --symbol BBB --head 1 --json > show.json 2>/dev/null
expect_contains show.json '"time": "2000-01-03"'

# Same seed -> same data; a second synth into the same store replaces, not duplicates.
"$QF" data synth --store s2.h5 --symbols 3 --bars 300 --seed 7 > /dev/null
"$QF" data show --store s2.h5 --symbol AAA --all > all2.csv 2>/dev/null
cmp -s all.csv all2.csv || fail "same seed should give the same bars"
"$QF" data synth --store s.h5 --symbols 3 --bars 300 --seed 7 > /dev/null
[ "$(grep -c '^[A-C]\{3\} ' <("$QF" data list --store s.h5))" -eq 3 ] || fail "re-synth"

# --- CSV import -> show -----------------------------------------------------------
cat > bars.csv <<'CSV'
Date,Open,High,Low,Close,Adj Close,Volume
2020-01-02,10.5,11,10,10.75,10.7,1000
2020-01-03,10.75,12.25,10.5,12,11.9,2500.5
2020-01-06,0.1,0.30000000000000004,0.1,0.2,0.2,0
2020-01-07T15:30:00Z,12,13,11.5,12.5,12.4,3000
CSV
"$QF" data import --csv bars.csv --symbol XYZ --store s.h5 > import.out
expect_contains import.out "imported 4 bars of XYZ/1d from bars.csv into s.h5 (hash "
"$QF" data show --store s.h5 --symbol XYZ --all > xyz.csv 2>/dev/null
cat > xyz.expected <<'CSV'
time,open,high,low,close,volume
2020-01-02,10.5,11,10,10.75,1000
2020-01-03,10.75,12.25,10.5,12,2500.5
2020-01-06,0.1,0.30000000000000004,0.1,0.2,0
2020-01-07T15:30:00Z,12,13,11.5,12.5,3000
CSV
diff xyz.expected xyz.csv || fail "show should print the imported values exactly"
# What `show` prints imports back to identical content (same hash).
"$QF" data import --csv xyz.csv --symbol XYZ2 --store s.h5 > import2.out
hash1="$(sed 's/.*(hash \(.*\))/\1/' import.out)"
expect_contains import2.out "(hash $hash1)"
[ "$(grep -c '^[A-Z0-9]* ' <("$QF" data list --store s.h5 | tail -n +2))" -eq 5 ] \
  || fail "import adds to the existing series"

# --- rejected input leaves the store unchanged ------------------------------------
sha_before="$(sha256sum s.h5)"
printf 'date,open,high,low,close,volume\n2020-01-02,1,2,1,1,5\n2020-01-03,1,2,1,x,5\n' > bad.csv
expect_failure err.log "$QF" data import --csv bad.csv --symbol BAD --store s.h5
expect_contains err.log "quantfarm: error: bad.csv:3: column 'close': 'x' is not a number"
printf 'date,open,high,low,close,volume\n2020-01-03,1,2,1,1,5\n2020-01-02,1,2,1,1,5\n' > unsorted.csv
expect_failure err.log "$QF" data import --csv unsorted.csv --symbol BAD --store s.h5
expect_contains err.log "unsorted.csv:3: unsorted"
printf 'date,open,high,low,close\n2020-01-03,1,2,1,1\n' > nocol.csv
expect_failure err.log "$QF" data import --csv nocol.csv --symbol BAD --store s.h5
expect_contains err.log "nocol.csv:1: header has no 'volume' column"
expect_failure err.log "$QF" data import --csv missing.csv --symbol BAD --store s.h5
expect_contains err.log "missing.csv: cannot read file"
expect_failure err.log "$QF" data import --csv bars.csv --symbol 'BAD/NAME' --store s.h5
expect_contains err.log "invalid symbol 'BAD/NAME'"
[ "$(sha256sum s.h5)" = "$sha_before" ] || fail "rejected import changed the store"
# A rejected import into a missing store creates nothing.
expect_failure err.log "$QF" data import --csv bad.csv --symbol BAD --store new.h5
[ ! -e new.h5 ] || fail "rejected import created a store"
ls | grep -q '\.tmp\.' && fail "temp file left behind"

# --- failures of list/show --------------------------------------------------------
expect_failure err.log "$QF" data show --store s.h5 --symbol NOPE
expect_contains err.log "quantfarm: error: symbol 'NOPE' (timeframe 1d) not in store 's.h5'; available: AAA, BBB, CCC, XYZ, XYZ2"
expect_failure err.log "$QF" data list --store absent.h5
expect_contains err.log "store 'absent.h5' does not exist (create it with 'quantfarm data synth' or 'quantfarm data import')"
echo "not hdf5" > junk.h5
expect_failure err.log "$QF" data list --store junk.h5
expect_contains err.log "junk.h5"
expect_failure err.log "$QF" data synth --store s.h5 --symbols 0
expect_contains err.log "symbols must be in 1..10000, got 0"
[ "$(sha256sum s.h5)" = "$sha_before" ] || fail "failed commands changed the store"

# QUANTFARM_STORE is the default store.
QUANTFARM_STORE=s.h5 "$QF" data list > env.out
expect_contains env.out "XYZ2"

echo "data CLI tests passed"
