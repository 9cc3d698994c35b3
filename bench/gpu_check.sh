#!/usr/bin/env bash
# The GPU check for a session that has the device tool: one short script, well under 5 minutes on an H200.
# Runs from a checkout without installing anything: the device image already has torch, torchvision and
# torchaudio. `--cpu-smoke` runs both checks for a few tiny steps on the CPU (the tests do, so it cannot rot).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
export PYTHONPATH="$PWD:$PWD/plugins/zoo-wav2vec:$PWD/plugins/zoo-images${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
RESNET=() WAV2VEC=() FOLDER=()
if [ "${1:-}" = "--cpu-smoke" ]; then
  RESNET=(--device cpu --steps 2 --arch resnet18:2,resnet50:2 --size 32 --bank 4 --precision fp32)
  WAV2VEC=(--device cpu --steps 2 --batch 2 --seconds 1 --bank 2 --precision fp32)
  FOLDER=(--device cpu --images 24 --classes 3 --size 32 --batch 8 --workers 2 --precision fp32)
fi
"$PY" bench/gpu_check.py "${RESNET[@]}"
"$PY" bench/gpu_imagefolder.py "${FOLDER[@]}"
if "$PY" -c "import torchaudio" 2>/dev/null; then
  "$PY" bench/gpu_wav2vec.py "${WAV2VEC[@]}"
else
  echo "wav2vec2 check skipped: torchaudio is not installed here (pip install torchaudio==2.11.1)"
fi
