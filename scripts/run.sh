#!/usr/bin/env bash
# alertd's main job on the embedded defaults: the daemon on 127.0.0.1:9095 with the example
# rules in rules/, SQLite under data/, the webhook source on, Prometheus expected at
# 127.0.0.1:9090 (reported as down when absent), and alert state changes on the console.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/alertd run "$@"
