#!/usr/bin/env bash
# Side-by-side timings of flowlens and baselines on the same generated data.
# Every figure is the best of RUNS runs, and is reported as a ratio to a
# baseline measured in the same run, because these machines are noisy.
#
#   bench/run.sh            # 1.5M-record v2 file (~170 MB) and its gzip
#   BIG=1 bench/run.sh      # also top-N over 100M stored records
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

RECORDS=${RECORDS:-1500000}
RUNS=${RUNS:-3}
OUT=bench/out
mkdir -p "$OUT" bin
go build -tags duckdb_arrow -o bin/flowlens ./cmd/flowlens   # the Arrow loader, as make build
go build -o bin/duckrun ./bench/duckrun
F=bin/flowlens
if ! [ -x /usr/bin/time ]; then
  echo "bench: installing GNU time for peak RSS" >&2
  apt-get install -y -qq time >/dev/null 2>&1 || true
fi
AWK=$(command -v mawk || command -v awk)

TXT=$OUT/v2-$RECORDS.log
GZ=$TXT.gz
[ -s "$TXT" ] || $F gen --records "$RECORDS" --header --out "$TXT" 2>/dev/null
[ -s "$GZ" ] || $F gen --records "$RECORDS" --header --out "$GZ" 2>/dev/null
MB=$(( $(stat -c %s "$TXT") / 1000000 ))

# measure NAME CMD: best wall time (s) and the peak RSS (MB) of that run.
declare -A T M
measure() {
  local name=$1; shift
  local best="" rss=0
  for _ in $(seq "$RUNS"); do
    local out
    if [ -x /usr/bin/time ]; then
      /usr/bin/time -o "$OUT/.time" -f "%e %M" bash -c "$*" >/dev/null 2>&1
      out=$(tail -1 "$OUT/.time")
    else
      local s e; s=$(date +%s.%N); bash -c "$*" >/dev/null 2>&1; e=$(date +%s.%N)
      out="$(echo "$e - $s" | bc) 0"
    fi
    local t=${out% *} m=${out#* }
    if [ -z "$best" ] || (( $(echo "$t < $best" | bc) )); then best=$t; rss=$m; fi
  done
  T[$name]=$best; M[$name]=$(( rss / 1024 ))
}
ratio() { echo "scale=2; ${T[$1]} / ${T[$2]}" | bc; }
row() { printf "%-44s %8s s %7s MB   %s\n" "$1" "${T[$1]}" "${M[$1]}" "$2"; }

echo "flowlens bench: $RECORDS records, $MB MB text, $(nproc) cores, best of $RUNS"
echo

measure "wc -l" "wc -l $TXT"
measure "mawk pass (sum bytes)" "$AWK '{b+=\$10} END{print NR, b}' $TXT"
measure "flowlens read --count" "$F read --count $TXT"
measure "flowlens read -o csv" "$F read -o csv $TXT"
measure "gzip -dc" "gzip -dc $GZ"
measure "flowlens read --count (gzip)" "$F read --count $GZ"
echo "== parse"
row "wc -l" "baseline"
row "mawk pass (sum bytes)" "$(ratio "mawk pass (sum bytes)" "flowlens read --count")x flowlens read --count"
row "flowlens read --count" "$(ratio "flowlens read --count" "wc -l")x wc -l; $(echo "scale=0; $MB / ${T[flowlens read --count]}" | bc) MB/s"
row "flowlens read -o csv" "$(ratio "flowlens read -o csv" "flowlens read --count")x read --count"
row "gzip -dc" "baseline"
row "flowlens read --count (gzip)" "$(ratio "flowlens read --count (gzip)" "gzip -dc")x gzip -dc"
echo

TOPSQL="SELECT srcaddr, dstaddr, sum(bytes) AS b FROM read_csv('$TXT', delim=' ', header=true, nullstr='-') GROUP BY ALL ORDER BY b DESC LIMIT 10"
TOPSQLGZ="SELECT srcaddr, dstaddr, sum(bytes) AS b FROM read_csv('$GZ', delim=' ', header=true, nullstr='-') GROUP BY ALL ORDER BY b DESC LIMIT 10"
measure "flowlens top srcaddr,dstaddr" "$F top srcaddr,dstaddr --by bytes -n 10 -o csv $TXT"
measure "duckdb read_csv + GROUP BY" "bin/duckrun :memory: \"$TOPSQL\""
measure "mawk associative array" "$AWK '\$14==\"OK\"{b[\$4\" \"\$5]+=\$10} END{for(k in b) print b[k], k}' $TXT | sort -rn | head -10"
measure "flowlens top (gzip)" "$F top srcaddr,dstaddr --by bytes -n 10 -o csv $GZ"
measure "duckdb read_csv + GROUP BY (gzip)" "bin/duckrun :memory: \"$TOPSQLGZ\""
echo "== top srcaddr,dstaddr by bytes"
row "flowlens top srcaddr,dstaddr" "baseline"
row "duckdb read_csv + GROUP BY" "$(ratio "duckdb read_csv + GROUP BY" "flowlens top srcaddr,dstaddr")x slower than flowlens"
row "mawk associative array" "$(ratio "mawk associative array" "flowlens top srcaddr,dstaddr")x slower than flowlens"
row "flowlens top (gzip)" "$(ratio "flowlens top (gzip)" "gzip -dc")x gzip -dc"
row "duckdb read_csv + GROUP BY (gzip)" "$(ratio "duckdb read_csv + GROUP BY (gzip)" "flowlens top (gzip)")x slower than flowlens"
echo

DB=$OUT/ingest.duckdb
# Each run ingests into a new database.
measure "flowlens ingest" "rm -f $DB $DB.*; $F ingest --db $DB $TXT"
# Enrichment at ingest: an IOC list of 1000 of the file's destinations, an
# allow-list of their /16s, on top of the network class every ingest fills.
IOCS=$OUT/iocs.txt ALLOW=$OUT/allow.txt
awk 'NR>1 && NR%1500==0 {print $5}' "$TXT" | sort -u | head -1000 > "$IOCS"
awk -F. '{print $1"."$2".0.0/16"}' "$IOCS" | sort -u > "$ALLOW"
measure "flowlens ingest --ioc --allow" "rm -f $DB.enriched $DB.enriched.*; $F ingest --db $DB.enriched --ioc $IOCS --allow vendor=$ALLOW $TXT"
rm -f "$DB.enriched" "$DB.enriched".*
# DuckDB's own loaders, for the ceiling of the engine on this machine: its
# CSV reader straight into a table of the file's 14 columns, and eight
# integer columns it generates itself (no text at all).
CDB=$OUT/ceiling.duckdb
measure "duckdb read_csv into a table" "rm -f $CDB $CDB.*; bin/duckrun $CDB \"CREATE TABLE t AS SELECT * FROM read_csv('$TXT', delim=' ', header=true, nullstr='-')\" \"SELECT count(*) FROM t\""
measure "duckdb 8 generated int columns into a table" "rm -f $CDB $CDB.*; bin/duckrun $CDB \"CREATE TABLE t AS SELECT i::INT a, (i*7)::BIGINT b, (i%65536)::INT c, (i%1000)::INT d, 6::INT e, (i*13%100000)::BIGINT f, (1700000000+i//1000)::BIGINT g, (1700000060+i//1000)::BIGINT h FROM range($RECORDS) r(i)\" \"SELECT count(*) FROM t\""
rm -f "$CDB" "$CDB".*
measure "flowlens top (stored)" "$F top srcaddr,dstaddr --db $DB -n 10 -o csv"
echo "== store"
row "flowlens ingest" "$(echo "scale=2; $RECORDS / ${T[flowlens ingest]} / 1000000" | bc)M records/s; database $(( $(stat -c %s "$DB") / 1000000 )) MB"
row "flowlens ingest --ioc --allow" "$(ratio "flowlens ingest --ioc --allow" "flowlens ingest")x plain ingest"
row "duckdb read_csv into a table" "$(echo "scale=2; $RECORDS / ${T[duckdb read_csv into a table]} / 1000000" | bc)M records/s; flowlens ingest takes $(ratio "flowlens ingest" "duckdb read_csv into a table")x its time"
row "duckdb 8 generated int columns into a table" "$(echo "scale=2; $RECORDS / ${T[duckdb 8 generated int columns into a table]} / 1000000" | bc)M rows/s"
row "flowlens top (stored)" "$(ratio "flowlens top (stored)" "flowlens top srcaddr,dstaddr")x ad-hoc top on the text"

if [ "${BIG:-0}" = 1 ]; then
  BIGDB=$OUT/big-v2.duckdb
  if ! [ -s "$BIGDB" ]; then
    # Ingest one generated day after another, as a user would, until there
    # are 100M records: the same estate and traffic shape every day (same
    # seed), a day apart.
    d=0
    while [ $(( d * RECORDS )) -lt 100000000 ]; do
      day=$(date -u -d "2024-03-11 + $d days" +%F)
      $F gen --records "$RECORDS" --start "$day" --header --out "$OUT/day-$d.log" 2>/dev/null
      $F ingest --db "$BIGDB" "$OUT/day-$d.log" 2>/dev/null
      rm -f "$OUT/day-$d.log"
      d=$(( d + 1 ))
    done
  fi
  n=$(bin/duckrun "$BIGDB" "SELECT count(*) FROM flows")
  measure "flowlens top (100M stored)" "$F top srcaddr,dstaddr --db $BIGDB -n 10 -o csv"
  measure "flowlens top, time range (100M stored)" "$F top srcaddr,dstaddr --db $BIGDB -n 10 -o csv --since 2024-03-01T00:00:00Z"
  # A whole day near the end of the stored ones, as a responder asks for.
  day=$(bin/duckrun "$BIGDB" "SELECT strftime(to_timestamp(max(start)) - INTERVAL 2 DAY, '%Y-%m-%d') FROM flows")
  days=$(bin/duckrun "$BIGDB" "SELECT count(DISTINCT start // 86400) FROM flows")
  measure "flowlens top, one day (100M stored)" "$F top srcaddr,dstaddr --db $BIGDB -n 10 -o csv --since ${day}T00:00:00Z --until ${day}T23:59:59Z"
  measure "duckdb GROUP BY (100M stored)" "bin/duckrun $BIGDB \"SELECT srcaddr, dstaddr, sum(bytes) AS b FROM flows GROUP BY ALL ORDER BY b DESC LIMIT 10\""
  echo "== $n stored records, database $(( $(stat -c %s "$BIGDB") / 1000000 )) MB"
  row "flowlens top (100M stored)" "from the pair totals"
  row "flowlens top, time range (100M stored)" "$(ratio "flowlens top, time range (100M stored)" "flowlens top (100M stored)")x; reads the rows"
  row "flowlens top, one day (100M stored)" "$day, one of $days days stored: the row groups of the others are skipped"
  row "duckdb GROUP BY (100M stored)" "$(ratio "duckdb GROUP BY (100M stored)" "flowlens top (100M stored)")x; the same rows in SQL"
fi
