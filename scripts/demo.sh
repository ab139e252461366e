#!/usr/bin/env bash
# The README's first command: generate a day of sample flow logs for a small
# AWS estate (with a planted port scan, SSH brute force, exfiltration and IOC
# contact) and its inventory, ingest them enriched into the embedded DuckDB
# store, ask the everyday questions and run the detection rules.
set -euo pipefail
cd "$(dirname "$0")/.."
F=bin/flowlens
D=demo
DB=$D/flowlens.duckdb
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

rm -rf "$D"
mkdir -p "$D"
step $F gen --records 300000 --duration 24h --tree $D/logs --ioc-out $D/iocs.csv --truth-out $D/truth.json --inventory $D/describe.json
step $F inventory import --inventory $D/inventory.json $D/describe.json
step $F ingest --db $DB --inventory $D/inventory.json --ioc $D/iocs.csv $D/logs
step $F ingest --db $DB --inventory $D/inventory.json --ioc $D/iocs.csv $D/logs
step $F top srcaddr,dstaddr --db $DB -n 10 -o table
step $F top dstport --db $DB --where 'action = REJECT and src not in 10.0.0.0/8' --by flows -n 10 -o table
step $F query rejects-by-source --db $DB --param limit=5 -o table
scanner=$($F query "SELECT srcaddr FROM flows WHERE action = 'REJECT' GROUP BY srcaddr ORDER BY count(DISTINCT dstport) DESC LIMIT 1" --db $DB -o csv | tail -1)
step $F query pair-ratio --db $DB --param addr="$scanner" --param limit=5 -o table
step $F query admin-port-traffic --db $DB --param limit=5 -o table
step $F top dst.entity,dstport --db $DB --where 'not src.internal and accept' --by flows -n 10 -o table
step $F detect --db $DB --final --rule portscan-vertical --rule bruteforce-remote-access --rule exfil-volume --rule threat-intel-contact -o table
printf '\nThe database is %s; try: %s query --help\n' "$DB" "$F"
