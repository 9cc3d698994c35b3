"""`python -m zoo.jobs.torchrun ARGS...`: torchrun whose own reports go to the run's log, not the terminal.

When a worker fails, torchrun logs each rank's exit and raises ChildFailedError with a traceback; zoo reads the
ranks' one-line errors instead (see zoo.jobs.worker). With ZOO_DEBUG=1 everything reaches the terminal as usual.
"""

from __future__ import annotations

import logging
import os
import sys


def main() -> None:
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    debug = os.environ.get("ZOO_DEBUG", "").strip() not in ("", "0")
    if not debug:
        handler = logging.FileHandler(os.environ["ZOO_TORCHRUN_LOG"], encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s torchrun: %(message)s"))
        logger = logging.getLogger("torch.distributed")
        logger.handlers[:] = [handler]
        logger.propagate = False
    try:
        run(parse_args(sys.argv[1:]))
    except ChildFailedError:
        if debug:
            raise
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
