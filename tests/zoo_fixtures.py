"""Fixtures for every test: real plugin distributions, the real `zoo` CLI, a test Hub server and olah."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from zoo_images.samples import write_cifar10

FIXTURE_PLUGINS = Path(__file__).parent / "fixtures" / "plugins"
ZOO = Path(sys.executable).with_name("zoo")


def assert_clean_error(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """A `zoo` run that failed as users should see it: exit `code`, no traceback, each of `words` on stderr."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr
    return proc.stderr


def fresh_venv(folder: Path, *site_dirs: str) -> tuple[Path, Path]:
    """A new venv at `folder` whose interpreter also sees `site_dirs` (after its own site-packages) through a .pth
    file: (its python, its site-packages)."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "zoo-under-test.pth").write_text("".join(f"{d}\n" for d in site_dirs))
    return python, Path(purelib)


def pip_install_target(source: Path, target: Path) -> Path:
    """Install a plugin's source tree as a real distribution into `target` (a site dir for PYTHONPATH)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return target


@pytest.fixture(scope="session")
def plugin_sites(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`plugin_sites("zoo-clash")`: the site dir where that fixture plugin is installed (once per session)."""
    installed: dict[str, Path] = {}

    def site(name: str) -> Path:
        if name not in installed:
            target = tmp_path_factory.mktemp(f"site-{name}")
            installed[name] = pip_install_target(FIXTURE_PLUGINS / name, target)
        return installed[name]

    return site


@pytest.fixture(scope="session")
def params_cache() -> Path:
    """The session's zoo cache (set by the root conftest), so each model's parameters are counted once."""
    return Path(os.environ["ZOO_CACHE_DIR"])


@pytest.fixture
def zoo_env(params_cache: Path, tmp_path: Path) -> dict[str, str]:
    """The environment for a `zoo` subprocess: its own HF cache, no ZOO_* or HF_* settings, a wide terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "HF_", "MLFLOW_", "PYTHONPATH"))}
    env.update(
        ZOO_CACHE_DIR=str(params_cache),
        HF_HOME=str(tmp_path / "hf"),
        COLUMNS="200",
        NO_COLOR="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_XET="1",  # the test Hub server offers the LFS batch API, not Xet (tests/hubserver.py)
    )
    return env


@pytest.fixture
def run_zoo(zoo_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `zoo` console script; `sites=[...]` adds plugin site dirs, `env={...}` more variables,
    `cwd` the working folder."""

    def run(
        *args: str,
        sites: list[Path] = (),
        env: dict[str, str] | None = None,
        timeout: float = 300,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full = dict(zoo_env, **(env or {}))
        if sites:
            full["PYTHONPATH"] = os.pathsep.join(str(s) for s in sites)
        return subprocess.run([str(ZOO), *args], env=full, capture_output=True, text=True, timeout=timeout, cwd=cwd)

    return run


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch, params_cache: Path):
    """Reload zoo's registry in this process after the test changes sys.path or ZOO_* variables; reset after."""
    import zoo

    for key in [k for k in os.environ if k.startswith("ZOO_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("ZOO_CACHE_DIR", str(params_cache))
    yield zoo.reload
    monkeypatch.undo()
    zoo.reload()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A `zoo serve` in its own process group ------------------------------------------------------------------


def start_server(args: list[str], cwd: Path | None, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """`zoo serve ARGS` in its own process group, once it says where it listens and /health answers."""
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [str(ZOO), "serve", *args, "--port", str(port)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    line = proc.stderr.readline()
    assert line.startswith("zoo serve: ") and f"http://127.0.0.1:{port}" in line, (line, proc.poll())
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop(proc)
    raise AssertionError("the server never became healthy")


def alive_in_group(pgid: int) -> list[int]:
    """The processes of a group that still run (zombies, ended but not yet reaped, do not count)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(entry.name))
    return alive


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    for pid in alive_in_group(proc.pid):  # only if the server failed to end them: keep the box clean
        os.kill(pid, signal.SIGKILL)
    return out, err


@pytest.fixture(scope="session")
def hub_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of bare git repositories that the test Hub server writes and olah serves."""
    return tmp_path_factory.mktemp("hub")


@pytest.fixture(scope="session")
def hub_server(hub_root: Path):
    """A Hub-compatible server on 127.0.0.1 that accepts create_repo, preupload and commit (token required)."""
    from hubserver import HubServer

    with HubServer(hub_root) as server:
        yield server


@pytest.fixture(scope="session")
def olah(hub_root: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """olah, an independent Hub mirror, serving `hub_root` read-only; returns its endpoint URL."""
    work = tmp_path_factory.mktemp("olah")
    port = free_port()
    config, cache = work / "olah.toml", work / "cache"
    config.write_text(
        f'[basic]\nhost = "127.0.0.1"\nport = {port}\nrepos-path = "{cache}"\n'
        f'mirrors-path = ["{hub_root}"]\nmirror-scheme = "http"\nmirror-netloc = "127.0.0.1:{port}"\n'
        f'mirror-lfs-netloc = "127.0.0.1:{port}"\n\n[accessibility]\noffline = true\n'
    )
    log = open(work / "olah.log", "wb")  # noqa: SIM115 - open for the server's lifetime
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("olah-cli")), "-c", str(config)],
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"olah did not start: {(work / 'olah.log').read_text()[-2000:]}") from None
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def olah_session_cache(olah: str) -> dict[str, str]:
    """Environment for a `zoo` subprocess: olah as the Hub, and this session's HF cache, so that large weights
    travel over HTTP once per session (every pull still verifies them)."""
    return {"HF_ENDPOINT": olah, "HF_HOME": os.environ["HF_HOME"]}


def write_run(
    folder: Path,
    model_name: str = "cnn",
    seed: int = 0,
    dataset: str = "digits",
    metrics: dict | None = None,
    **model_args: object,
):
    """A run folder as training writes it, with real random weights; returns the model."""
    import torch

    import zoo
    from zoo.store.run_folder import run_config, write_json
    from zoo.store.weights import save

    torch.manual_seed(seed)
    spec = zoo.get_registry().model(model_name)
    model = spec.build(**model_args)
    save(model, folder / "model.safetensors")
    write_json(
        folder / "config.json",
        run_config(
            spec.name,
            {**spec.kwargs, **model_args},
            plugin=spec.plugin,
            plugin_version="0.1.0",
            task=spec.task,
            dataset={"name": dataset, "fingerprint": "sha256:" + "0" * 64},
            recipe=f"{spec.name}-{dataset}",
            seed=seed,
            settings={"best_metric": "accuracy"},
        ),
    )
    write_json(folder / "metrics.json", metrics or {"accuracy": 0.95, "loss": 0.2})
    return model


@pytest.fixture
def make_run(tmp_path: Path):
    """`make_run("cnn", seed=0)`: a run folder as training writes it, with real random weights; returns (dir, model)."""

    def make(model_name: str = "cnn", seed: int = 0, folder: Path | None = None, **kwargs):
        folder = folder or tmp_path / f"run-{model_name}-{seed}"
        return folder, write_run(folder, model_name, seed, **kwargs)

    return make


@pytest.fixture
def mini_cifar(tmp_path: Path) -> Path:
    """The --data-dir of a 100 + 20 image CIFAR-10 in the real format."""
    write_cifar10(tmp_path / "cifar")
    return tmp_path / "cifar"


def write_image_folder(
    folder: Path, classes: dict[str, tuple[int, int, int]], per_class: int = 6, mode: str = "RGB"
) -> Path:
    """One sub-folder of generated PNGs per class, each class a colour plus noise."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, colour in classes.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.clip(np.array(colour) + rng.normal(0, 15, (24, 24, 3)), 0, 255).astype(np.uint8)
            suffix = "jpg" if mode == "CMYK" else "png"  # PNG has no CMYK; JPEG is where CMYK files come from
            Image.fromarray(pixels).convert(mode).save(folder / name / f"{i}.{suffix}")
    return folder


def stored_pngs(folder: Path, classes: dict[str, tuple[int, int, int]] | None = None) -> Path:
    """write_image_folder's images (4 per class) saved uncompressed: other pixels then take the same bytes."""
    from PIL import Image

    write_image_folder(folder, classes or {"red": (200, 30, 30), "blue": (30, 30, 200)}, per_class=4)
    for path in folder.glob("*/*.png"):
        Image.open(path).save(path, compress_level=0)
    return folder


def edit_in_place(path: Path) -> None:
    """Other pixels in the same number of bytes, with the mtime set back: only the bytes tell."""
    import numpy as np
    from PIL import Image

    before = path.stat()
    Image.fromarray(255 - np.asarray(Image.open(path))).save(path, compress_level=0)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)


def unwritable(tmp_path: Path) -> Path:
    """A folder in which nothing can be made: a read-only folder, or /sys for root (whom permissions do not stop)."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o500)
        return folder
    return Path("/sys")


@pytest.fixture(scope="session")
def timm_resnet18(hub_root, tmp_path_factory):
    """The Hub's timm/resnet18.tv_in1k as it is laid out: safetensors + a pickle copy + timm's config.json."""
    import json

    import torch
    import torchvision
    from safetensors.torch import save_file

    from zoo.hub.local_git import LocalHub

    torch.manual_seed(18)
    model = torchvision.models.resnet18()
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    folder = tmp_path_factory.mktemp("timm-resnet18")
    save_file(state, folder / "model.safetensors")
    torch.save(state, folder / "pytorch_model.bin")
    config = {"architecture": "resnet18", "num_classes": 1000, "pretrained_cfg": {"tag": "tv_in1k"}}
    local = LocalHub(hub_root)
    local.create_repo("timm/resnet18.tv_in1k")
    local.commit(
        "timm/resnet18.tv_in1k",
        {
            "model.safetensors": folder / "model.safetensors",
            "pytorch_model.bin": folder / "pytorch_model.bin",
            "config.json": json.dumps(config).encode(),
        },
        "timm weights",
    )
    return model.eval()


# facebook/wav2vec2-base-960h's config.json, as transformers describes that model.
WAV2VEC2_BASE_960H = {
    "conv_bias": False,
    "do_stable_layer_norm": False,
    "feat_extract_norm": "group",
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "vocab_size": 32,
    "pad_token_id": 0,
}
WAV2VEC2_VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", *"ETAONIHSRDLUMWCFGYPBVK'XJQZ"]


def save_transformers_ctc(
    folder: Path,
    kind: str = "Wav2Vec2ForCTC",
    vocab: list[str] | None = None,
    seed: int = 0,
    tokenizer: dict | None = None,
    max_shard_size: str | None = None,
    **config: object,
):
    """A CTC speech model as transformers saves it (save_pretrained: safetensors, config.json, the processor's
    vocab.json, tokenizer_config.json, preprocessor_config.json), with random weights; returns the model."""
    import json

    import torch
    import transformers

    vocab = vocab or WAV2VEC2_VOCAB
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    options = {"pad_token": "<pad>", "unk_token": "<unk>", "word_delimiter_token": "|", **(tokenizer or {})}
    processor = transformers.Wav2Vec2Processor(
        feature_extractor=transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True),
        tokenizer=transformers.Wav2Vec2CTCTokenizer(str(folder / "vocab.json"), **options),
    )
    processor.save_pretrained(folder)
    config_class = {"Wav2Vec2ForCTC": "Wav2Vec2Config", "HubertForCTC": "HubertConfig", "WavLMForCTC": "WavLMConfig"}
    pad_id = vocab.index(options["pad_token"])
    settings = {"vocab_size": len(vocab), "pad_token_id": pad_id, **config}
    torch.manual_seed(seed)
    model = getattr(transformers, kind)(getattr(transformers, config_class[kind])(**settings)).eval()
    model.save_pretrained(folder, **({"max_shard_size": max_shard_size} if max_shard_size else {}))
    return model, processor


@pytest.fixture(scope="session")
def hf_wav2vec2_base(hub_root, tmp_path_factory):
    """facebook/wav2vec2-base-960h as transformers lays it out, with random weights (plus a TF file zoo must skip).
    Returns (the transformers model, its processor, torchaudio's import of the model)."""
    from torchaudio.models.wav2vec2.utils import import_huggingface_model

    from zoo.hub.local_git import LocalHub

    folder = tmp_path_factory.mktemp("wav2vec2-base-960h")
    model, processor = save_transformers_ctc(folder, seed=960, **WAV2VEC2_BASE_960H)
    (folder / "tf_model.h5").write_bytes(b"not for zoo")
    local = LocalHub(hub_root)
    local.create_repo("facebook/wav2vec2-base-960h")
    local.commit("facebook/wav2vec2-base-960h", {p.name: p for p in folder.iterdir()}, "transformers weights")
    return model, processor, import_huggingface_model(model).eval()


def same_weights(a: Path, b: Path) -> bool:
    """Two run folders hold bitwise identical weights."""
    import torch
    from safetensors.torch import load_file

    x, y = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def history(run: Path) -> list[dict]:
    """A run's metrics.jsonl, without the wall times."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k != "train_seconds"} for row in rows]


def start_and_wait_for(
    args: list[str], out: Path, sites: list[Path], zoo_env: dict[str, str], pattern: str
) -> subprocess.Popen[str]:
    """Start `zoo train` and return it once train.log matches `pattern` (it must not finish first)."""
    env = dict(zoo_env, PYTHONPATH=os.pathsep.join(str(s) for s in sites))
    proc = subprocess.Popen(
        [str(ZOO), *args, "--out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 240
    log = out / "train.log"
    while time.monotonic() < deadline:
        if log.exists() and re.search(pattern, log.read_text()):
            return proc
        assert proc.poll() is None, f"training ended before the signal: {proc.communicate()}"
        time.sleep(0.002)
    proc.kill()
    raise AssertionError("no checkpoint appeared in time")


def zoo_main(*args: str) -> tuple[int, str]:
    """zoo's console entry point in this process: (exit code, stderr). For refusals that come before any training,
    where a subprocess would cost seconds of start-up per case."""
    from zoo.cli import main
    from zoo.registry.merged import get_registry

    stderr = io.StringIO()
    saved, sys.argv = sys.argv, ["zoo", *args]
    get_registry.cache_clear()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = saved
    return code, stderr.getvalue()
