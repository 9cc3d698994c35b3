#!/usr/bin/env bash
# The GPU check for a session that has the device tool: one short script, well under 5 minutes on an H200.
# Runs from a checkout without installing anything: the device image already has torch and torchvision.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$PY" bench/gpu_check.py "$@"
