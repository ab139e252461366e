#!/usr/bin/env bash
# The README's first command: generate a day of sample flow logs for a small
# AWS estate (with a planted port scan, SSH brute force, exfiltration and IOC
# contact), ingest them into the embedded DuckDB store, and ask the everyday
# questions.
set -euo pipefail
cd "$(dirname "$0")/.."
F=bin/flowlens
D=demo
DB=$D/flowlens.duckdb
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

rm -rf "$D"
mkdir -p "$D"
step $F gen --records 300000 --duration 24h --tree $D/logs --ioc-out $D/iocs.csv --truth-out $D/truth.json
step $F ingest --db $DB $D/logs
step $F ingest --db $DB $D/logs
step $F top srcaddr,dstaddr --db $DB -n 10 -o table
step $F top dstport --db $DB --where 'action = REJECT and src not in 10.0.0.0/8' --by flows -n 10 -o table
step $F query rejects-by-source --db $DB --param limit=5 -o table
scanner=$($F query "SELECT srcaddr FROM flows WHERE action = 'REJECT' GROUP BY srcaddr ORDER BY count(DISTINCT dstport) DESC LIMIT 1" --db $DB -o csv | tail -1)
step $F query pair-ratio --db $DB --param addr="$scanner" --param limit=5 -o table
step $F query admin-port-traffic --db $DB --param limit=5 -o table
printf '\nThe database is %s; try: %s query --help\n' "$DB" "$F"
