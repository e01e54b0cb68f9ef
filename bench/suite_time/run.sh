#!/usr/bin/env bash
# Times the tests that need no engine, in one process (-n 0) and on every core (pytest-xdist), and keeps
# each run's raw output beside this script as <commit>-<mode>.txt (docs/performance.md, "Suite time").
#   bench/suite_time/run.sh [PYTHON]      (default: the project's .venv)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
python=${1:-.venv/bin/python}
commit=$(git rev-parse --short HEAD)
for workers in 0 auto; do
  out="bench/suite_time/$commit-n$workers.txt"
  command=("$python" -m pytest -q --ignore=tests/e2e -m "not docker" tests -n "$workers" -p no:cacheprovider
    --durations=25)
  {
    echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# $(printf '%q ' "${command[@]}")"
    start=$(date +%s%N)
    "${command[@]}" 2>&1 || echo "# pytest exit code $?"
    echo "# wall $((($(date +%s%N) - start) / 1000000)) ms; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  } > "$out"
  tail -n 2 "$out"
done
