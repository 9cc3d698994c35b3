"""Entry point of each torchrun process: `python -m zoo.jobs.worker JOB_JSON`.

A failing rank writes its one-line error to `.error-rank<N>.json` in the run folder (the launching process shows
the first one) and its traceback, if any, to train.log; the terminal sees tracebacks only with ZOO_DEBUG=1.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

from zoo.core.atomic import write_text
from zoo.core.errors import ZooError, shown_once
from zoo.store import layout


def report(out: Path, rank: int, message: str, exit_code: int, trace: str | None) -> None:
    """Record this rank's failure for the launching process (and its traceback in the run's log)."""
    error = {"rank": rank, "message": message, "exit_code": exit_code, "time": time.time()}
    write_text(layout.error_file(out, rank), json.dumps(error))  # whole, or not at all: the launcher reads it
    if trace:
        with open(out / layout.LOG, "a", encoding="utf-8") as log:
            log.write(f"rank {rank} failed:\n{trace}")
        if os.environ.get("ZOO_DEBUG", "").strip() not in ("", "0"):
            sys.stderr.write(trace)


def main() -> None:
    import torch
    import torch.distributed as tdist

    from zoo.engine.device import Dist
    from zoo.jobs.train import TrainJob, run

    job = TrainJob.from_json(json.loads(Path(sys.argv[1]).read_text("utf-8")))
    out = Path(job.out)
    dist = Dist.from_env()
    use_nccl = job.settings["device"] in ("auto", "cuda") and torch.cuda.is_available()
    if use_nccl:
        torch.cuda.set_device(dist.local_rank)
    tdist.init_process_group("nccl" if use_nccl else "gloo")
    try:
        result = run(job, dist)
        if dist.main:
            write_text(out / layout.RESULT, json.dumps(result))
        # Every rank leaves together: a rank tearing gloo down while another still works can abort the process.
        tdist.barrier()
    except ZooError as exc:
        report(out, dist.rank, str(exc), exc.exit_code, None)
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:
        report(out, dist.rank, f"unexpected {type(exc).__name__}: {exc}", 1, traceback.format_exc())
        raise SystemExit(1) from None
    finally:
        tdist.destroy_process_group()


if __name__ == "__main__":
    with shown_once():
        main()
