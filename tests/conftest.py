import os
import sys
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

# CI explores the same examples every run (a red CI must mean a real regression, not a new
# random draw); locally each run draws new ones, and failures are replayed from .hypothesis/.
# .ci/run exports HYPOTHESIS_PROFILE=ci; a CI service that only sets CI=... gets it too.
settings.register_profile("ci", derandomize=True, print_blob=True, database=None)
settings.register_profile("default")
_profile = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default")
settings.load_profile(_profile)

