#!/usr/bin/env bash
# After dev-lint-all.sh rendered ${LINT_DIR:-/tmp/lint}: unique problems across variants, with a variant each.
V=${LINT_DIR:-/tmp/lint}venv
for d in ${LINT_DIR:-/tmp/lint}/*/; do
  [ "$(basename $d)" = _template ] && continue
  cd $d
  $V/bin/ruff check --no-cache --output-format concise . 2>/dev/null | grep -v "^Found\|fixable\|^All checks" | sed "s|$|  [$(basename $d)]|"
  $V/bin/ruff format --check --no-cache . 2>&1 | grep -i "would reformat" | sed "s|$|  [$(basename $d)]|"
  MYPYPATH=src $V/bin/mypy --strict --no-incremental --cache-dir=/dev/null src tests 2>&1 | grep "error:" | sed "s|$|  [$(basename $d)]|"
done | sort -t'[' -k1,1 -u
