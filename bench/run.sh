#!/usr/bin/env bash
# Runs the compiled benchmark (npm run bench builds it first). With N = 10,000 the
# server and the load generator each hold ~10k sockets, so the open-file limit is
# raised to the hard limit here; if that is still too low, the load generator says
# so and names the `ulimit -n` to run (as root, or via /etc/security/limits.conf).
set -euo pipefail
cd "$(dirname "$0")/.."

hard=$(ulimit -Hn)
if [ "$hard" = unlimited ]; then ulimit -n 1048576 2>/dev/null || ulimit -n 65536; else ulimit -n "$hard"; fi
echo "open-file limit: $(ulimit -n) (hard $hard)"

mkdir -p bench/results
# The full output is kept beside latest.json, for the record.
node dist-bench/runner/main.js 2>&1 | tee bench/results/last-run.txt
exit "${PIPESTATUS[0]}"
