"""Settings of the benchmark server: Tongban's own, plus the baseline app and its URL (see __init__)."""

from tongban.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench.baseline"]  # noqa: F405
ROOT_URLCONF = "bench.baseline.urls"
