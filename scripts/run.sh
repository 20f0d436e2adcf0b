#!/usr/bin/env bash
# alertd's main job on the embedded defaults: check the example rules and run their tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/alertd check rules/
.venv/bin/alertd test rules/*_test.yml
