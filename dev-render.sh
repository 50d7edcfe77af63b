#!/usr/bin/env bash
# Render one variant into $1 (default /tmp/dev) with extra --data args, install, and lint.
set -euo pipefail
dst=${1:-/tmp/dev}; shift || true
rm -rf "$dst"
/work/main/.venv/bin/copier copy -q --trust --defaults --vcs-ref HEAD "$@" /work/main "$dst" >/dev/null
cd "$dst"
uv venv -q --python /root/.pyenv/versions/3.12.1/bin/python3.12
UV_COMPILE_BYTECODE=1 uv pip install -q -e ".[test]"
.venv/bin/ruff check . || true
.venv/bin/ruff format --diff . || true
.venv/bin/mypy || true
