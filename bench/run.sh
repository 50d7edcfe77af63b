#!/usr/bin/env bash
# The benchmark's one command, from a checkout, as root:  bench/run.sh [options]
# (options: bench/run.sh --help; what it measures: bench/README.md).
# Installs wrk if missing, starts PostgreSQL and MariaDB with .ci/prepare.sh (idempotent),
# makes the dev venv .venv if missing, then runs bench/bench.py with the dev venv's Python.
set -euo pipefail
cd "$(dirname "$0")/.."

for arg in "$@"; do
    if [ "$arg" = "-h" ] || [ "$arg" = "--help" ]; then
        if [ -x .venv/bin/python ]; then exec .venv/bin/python bench/bench.py --help; fi
        exec python3 bench/bench.py --help
    fi
done

if ! command -v wrk >/dev/null; then
    echo "Installing wrk ..." >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y wrk
fi

eval "$(.ci/prepare.sh)"

if [ ! -x .venv/bin/python ]; then
    echo "Creating the dev venv .venv ..." >&2
    python3 -m venv .venv
    .venv/bin/pip install -q -r requirements-dev.txt
fi

exec .venv/bin/python bench/bench.py "$@"
