"""Entry point of each torchrun process: `python -m zoo.engine.worker JOB_JSON`."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    import torch
    import torch.distributed as tdist

    from zoo.engine.run import run_job
    from zoo.engine.trainer import Dist
    from zoo.errors import ZooError

    job = json.loads(Path(sys.argv[1]).read_text("utf-8"))
    dist = Dist.from_env()
    device = job["flags"].get("device") or "auto"
    use_nccl = device in ("auto", "cuda") and torch.cuda.is_available()
    if use_nccl:
        torch.cuda.set_device(dist.local_rank)
    tdist.init_process_group("nccl" if use_nccl else "gloo")
    try:
        result = run_job(job, dist)
        if dist.main:
            out = Path(job["out"]) / ".result.json"
            out.write_text(json.dumps(result), encoding="utf-8")
        # Every rank leaves together: a rank tearing gloo down while another still works can abort the process.
        tdist.barrier()
    except ZooError as exc:
        sys.stderr.write(f"Error (rank {dist.rank}): {exc}\n")
        raise SystemExit(exc.exit_code) from None
    finally:
        tdist.destroy_process_group()


if __name__ == "__main__":
    main()
