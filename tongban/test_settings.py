"""Settings for the test suite: the ordinary settings with development secrets allowed."""

import os

os.environ.setdefault("TONGBAN_ENV", "dev")

from tongban.settings import *  # noqa: F403

# On SQLite the test database is a file (WAL, busy timeout), as in production, rather than Django's
# shared-cache in-memory database, whose table locks fail at once instead of waiting: the tests that
# append from several threads at a time need real locking.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "pytest-db.sqlite3")}  # noqa: F405

# Outbound SMS are kept in memory (tongban.notifications.channels.outbox) for the tests to read.
TONGBAN_SMS_BACKEND = "locmem"

# Background jobs run inline, when the transaction that queued them commits.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405
