"""Pull a 400 MB LFS file through the test Hub server: zoo (verification included) against plain snapshot_download.

The server (tests/hubserver.py) serves the weights as the Hub does: listed with their sha256 in the tree's `lfs`
field, resolved with a 302 to a storage origin. Cold: a fresh Hugging Face cache each run. Warm: the same cache
again. Each pull runs in its own process (the HF cache location is fixed when huggingface_hub is imported) and
times only the call itself. Runs are interleaved, after one warm-up pull, so the server and the page cache serve
both sides alike.
Run: .venv/bin/python bench/pull.py [--mb 400] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

REPO = "bench/big-model"
TIMED = {
    "zoo": "import zoo.hub.pull as h\nt = time.perf_counter()\nh.download({repo!r}, hub={url!r})",
    "snapshot_download": "from huggingface_hub import snapshot_download\nt = time.perf_counter()\n"
    "snapshot_download({repo!r}, revision='main', endpoint={url!r})",
}


def make_repo(root: Path, megabytes: int) -> None:
    import torch
    from safetensors.torch import save_file

    from zoo.hub.local_git import LocalHub

    work = root / "work"
    work.mkdir()
    tensors = {f"layer{i}.weight": torch.randn(megabytes * 1024 * 1024 // 4 // 8) for i in range(8)}
    save_file(tensors, work / "model.safetensors")
    config = {"zoo_version": "0.1.0", "model": "cnn", "model_args": {}}
    hub = LocalHub(root / "hub")
    hub.create_repo(REPO)
    hub.commit(
        REPO,
        {"model.safetensors": work / "model.safetensors", "config.json": json.dumps(config).encode()},
        "a big model",
    )


def timed_pull(kind: str, url: str, home: Path) -> float:
    # Both sides import huggingface_hub's download code before the clock starts: only the pull is timed.
    prelude = "import time, huggingface_hub.hf_api, huggingface_hub.file_download, huggingface_hub._snapshot_download\n"
    code = prelude + TIMED[kind].format(repo=REPO, url=url) + "\nprint(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "ZOO_"))}
    env.update(HF_HOME=str(home / "hf"), ZOO_CACHE_DIR=str(home / "zoo"), HF_HUB_DISABLE_PROGRESS_BARS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from hubserver import HubServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zoo-bench-pull-") as tmp:
        root = Path(tmp)
        make_repo(root, args.mb)
        with HubServer(root / "hub") as server:
            url = server.url
            timed_pull("snapshot_download", url, root / "warmup")
            listed = [f for f in json.loads(_get(f"{url}/api/models/{REPO}/tree/main")) if "lfs" in f]
            cold: dict[str, list[float]] = {k: [] for k in TIMED}
            warm: dict[str, list[float]] = {k: [] for k in TIMED}
            for run in range(args.runs):
                for kind in TIMED:
                    home = root / f"{kind}-{run}"
                    cold[kind].append(timed_pull(kind, url, home))
                    warm[kind].append(timed_pull(kind, url, home))
                    warm[kind].append(timed_pull(kind, url, home))
    print(f"{args.mb} MB model through the test Hub server, as LFS ({', '.join(f['path'] for f in listed)}),")
    print(f"median of {args.runs} cold and {2 * args.runs} warm pulls")
    print(f"{'':<22}{'cold s':>10}{'warm s':>10}")
    for kind in TIMED:
        print(f"{kind:<22}{statistics.median(cold[kind]):>10.3f}{statistics.median(warm[kind]):>10.3f}")
    cold_ratio = statistics.median(cold["zoo"]) / statistics.median(cold["snapshot_download"])
    warm_ratio = statistics.median(warm["zoo"]) / statistics.median(warm["snapshot_download"])
    print(f"\n{'ratio zoo / snapshot_download':<34}{'value':>8}{'target':>9}")
    print(f"{'cold pull':<34}{cold_ratio:>8.3f}{'<= 1.15':>9}")
    print(f"{'warm pull (cached)':<34}{warm_ratio:>8.3f}{'<= 2':>9}")


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url) as response:
        return response.read().decode()


if __name__ == "__main__":
    main()
