"""Settings for the test suite: the ordinary settings with development secrets allowed."""

import os

os.environ.setdefault("TONGBAN_ENV", "dev")

from tongban.settings import *  # noqa: F403
