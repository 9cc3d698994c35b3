"""Distributed training: a job run under torchrun (torch.distributed.run), one process per device, DDP inside; the
first failing rank's one-line error is what the user sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.atomic import write_text
from zoo.core.errors import UsageError, ZooError
from zoo.store import layout

if TYPE_CHECKING:
    from zoo.jobs.train import TrainJob


def launch(job: TrainJob, nproc: int, nnodes: int, node_rank: int, rdzv: str | None) -> dict[str, Any]:
    """Run the job under torchrun; rank 0's result (`zoo train --json`'s summary)."""
    out = Path(job.out)
    out.mkdir(parents=True, exist_ok=True)
    job_file = write_text(out / layout.JOB, json.dumps(job.to_json()))
    result_file = out / layout.RESULT
    result_file.unlink(missing_ok=True)
    for stale in layout.error_files(out):
        stale.unlink()
    command = [sys.executable, "-m", "zoo.jobs.torchrun", f"--nproc-per-node={nproc}"]
    if nnodes > 1:
        # Static: the node ranks are the users'. c10d would ignore --node-rank and rank the nodes by host name and
        # process id, so rank 0 (which writes the run) could land on a machine told it is node 1.
        command += [f"--nnodes={nnodes}", f"--node-rank={node_rank}", "--rdzv-backend=static"]
        command += [f"--rdzv-endpoint={rdzv}"]
    else:
        command += ["--standalone"]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    env["ZOO_TORCHRUN_LOG"] = str(out / layout.LOG)
    proc = subprocess.run([*command, "-m", "zoo.jobs.worker", str(job_file)], env=env, check=False)
    if proc.returncode != 0:
        raise first_failure(out, proc.returncode)
    if node_rank != 0:
        return {"run_dir": str(out), "node_rank": node_rank}
    return json.loads(result_file.read_text("utf-8"))


def first_failure(out: Path, returncode: int) -> ZooError:
    """The error of the rank that failed first (the others usually fail because it did), with the log's path."""
    errors = []
    for path in layout.error_files(out):
        try:
            errors.append(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError):
            continue
    log = out / layout.LOG
    if not errors:
        return ZooError(f"distributed training failed (torchrun exit {returncode}); see {log}")
    first = min(errors, key=lambda e: e.get("time", 0))
    message = f"{first.get('message')} (rank {first.get('rank')}; log: {log})"
    error = UsageError(message) if first.get("exit_code") == 2 else ZooError(message)
    error.exit_code = int(first.get("exit_code") or 1)
    return error
