#!/usr/bin/env bash
# The main job on local defaults, end to end. It grows as the hub and training land.
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=.venv/bin/zoo
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step zoo plugins
$zoo plugins
step zoo list
$zoo list
step zoo info resnet18
$zoo info resnet18
step zoo list --pretrained --json
$zoo list --pretrained --json
