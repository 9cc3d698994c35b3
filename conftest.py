"""pytest set-up for the whole suite (core and plugins): isolated caches, no Hub settings leaking in."""

import os
import shutil
import tempfile

_SESSION_DIR = tempfile.mkdtemp(prefix="zoo-tests-")
# Set before anything imports huggingface_hub, which reads these once.
for _key in [k for k in os.environ if k.startswith("ZOO_") or k in ("HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE")]:
    del os.environ[_key]
os.environ.update(
    HF_HOME=os.path.join(_SESSION_DIR, "hf"),
    ZOO_CACHE_DIR=os.path.join(_SESSION_DIR, "zoo-cache"),
    HF_HUB_DISABLE_TELEMETRY="1",
    # The test Hub server takes LFS uploads through the LFS batch API, not Xet chunk storage (tests/hubserver.py).
    HF_HUB_DISABLE_XET="1",
)

# Hypothesis (tests/test_properties.py): a small run in `make test`; `make fuzz` passes --hypothesis-profile=fuzz.
from hypothesis import settings  # noqa: E402

# `ci` runs the same examples every time (derandomize), so CI never fails on a new random find; `make fuzz` explores.
settings.register_profile("ci", max_examples=20, deadline=None, database=None, derandomize=True, print_blob=True)
settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None, print_blob=True
)
settings.load_profile("ci")

pytest_plugins = ["zoo_fixtures"]


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)
