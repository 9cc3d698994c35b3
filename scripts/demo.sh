#!/usr/bin/env bash
# The main job, end to end, offline, on local defaults: list, train on a shipped dataset, publish to a local
# hub folder, pull back with verification, predict on a held-out image, retrain the published model from its card
# and check it reproduces, and a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=.venv/bin/zoo
py=.venv/bin/python
demo=.demo
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

rm -rf "$demo"
mkdir -p "$demo"
export ZOO_HUB="$PWD/$demo/hub"  # a local hub folder: bare git repos, the layout olah serves
start=$(date +%s)

step zoo list
$zoo list

step zoo train cnn --dataset digits --logger tensorboard --out $demo/run
$zoo train cnn --dataset digits --logger tensorboard --out "$demo/run"

step zoo publish $demo/run demo/cnn-digits --hub $demo/hub
$zoo publish "$demo/run" demo/cnn-digits

step zoo pull demo/cnn-digits --hub $demo/hub
$zoo pull demo/cnn-digits | tee "$demo/pull.txt"

# A digit the model never saw: the first image of the held-out split, as a PNG.
$py - "$demo/digit.png" <<'PY'
import sys
from PIL import Image
from zoo_images.digits import load
data = load(size=32)
image, label = data.val.tensors[0][0], int(data.val.tensors[1][0])
Image.fromarray(image.permute(1, 2, 0).numpy()).save(sys.argv[1])
open(sys.argv[1] + ".label", "w").write(str(label))
PY
step zoo predict demo/cnn-digits $demo/digit.png --top 3 "(true label: $(cat $demo/digit.png.label))"
$zoo predict demo/cnn-digits "$demo/digit.png" --top 3

step zoo runs $demo
$zoo runs "$demo"

step zoo reproduce demo/cnn-digits --hub $demo/hub --out $demo/reproduce
reproduce_start=$EPOCHREALTIME
$zoo reproduce demo/cnn-digits --out "$demo/reproduce" | tee "$demo/reproduce.txt"
reproduce_seconds=$($py -c "print(f'{$EPOCHREALTIME - $reproduce_start:.1f}')")
verdict=$(awk '/^verdict/ {sub(":", "", $2); print $2}' "$demo/reproduce.txt")

accuracy=$($py -c "import json; print(json.load(open('$demo/run/metrics.json'))['accuracy'])")
printf '\n\033[1mSummary\033[0m\n'
printf '  validation accuracy  %s (from %s/run/metrics.json)\n' "$accuracy" "$demo"
printf '  reproduction         %s, in %s s (pull, verify, retrain, compare; zoo reproduce demo/cnn-digits)\n' \
  "$verdict" "$reproduce_seconds"
printf '  training curves      training_curves.png in the repo, %s bytes\n' \
  "$(awk '$2 == "training_curves.png" {print $4}' "$demo/pull.txt")"
printf '  wall time            %s s for everything above\n' "$(( $(date +%s) - start ))"
printf '  run folder           %s/run\n' "$demo"
printf '  local hub            %s/hub/models/demo/cnn-digits\n' "$demo"
printf '  held-out image       %s/digit.png (label %s)\n' "$demo" "$(cat $demo/digit.png.label)"
