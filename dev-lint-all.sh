#!/usr/bin/env bash
# Render every sqlite variant into ${LINT_DIR:-/tmp/lint}/<id>, then ruff + format + mypy them with one shared venv.
set -uo pipefail
export LINT_DIR=${LINT_DIR:-/tmp/lint}; rm -rf $LINT_DIR; mkdir -p $LINT_DIR
/work/main/.venv/bin/python - <<'PY'
import os, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, "/work/main/tests")
from pathlib import Path
from rendering import render_variant, snapshot_template
from variants import full_matrix
tpl = snapshot_template(Path(os.environ["LINT_DIR"]) / "_template")
for v in full_matrix():
    if v["database"] != "sqlite": continue
    render_variant(tpl, Path(os.environ["LINT_DIR"]) / v.id, v.data)
PY
V=${LINT_DIR:-/tmp/lint}venv
if [ ! -x $V/bin/python ]; then
  uv venv -q --python /root/.pyenv/versions/3.12.1/bin/python3.12 $V
  UV_COMPILE_BYTECODE=1 uv pip install -q --python $V/bin/python fastapi uvicorn pydantic-settings sqlmodel python-multipart "python-jose[cryptography]>=3.5" "pyjwt[crypto]>=2.15.1" "libpass>=1.9.3" bcrypt argon2-cffi pytest httpx ruff mypy types-passlib types-python-jose alembic psycopg pymysql
fi
for d in ${LINT_DIR:-/tmp/lint}/*/; do
  [ "$(basename $d)" = _template ] && continue
  cd $d
  out=$( { $V/bin/ruff check -q --no-cache . ; $V/bin/ruff format --check -q --no-cache . ; MYPYPATH=src $V/bin/mypy --strict --no-incremental --cache-dir=/dev/null src tests 2>&1 | grep -v "^Success" ; } 2>&1 )
  if [ -n "$out" ]; then echo "=== $(basename $d)"; echo "$out" | head -${LINES_PER:-15}; fi
done
