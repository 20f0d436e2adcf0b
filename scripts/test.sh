#!/usr/bin/env bash
# The whole test suite: lint, types, the example rules, and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff";   ruff check alertd tests bench
echo "== mypy";   mypy
echo "== alertd check rules/";       alertd check --require owner,runbook rules/
echo "== alertd fmt --check rules/"; alertd fmt --check rules/
echo "== alertd test rules/";        alertd test rules/*_test.yml
echo "== pytest"; pytest -q "$@"
