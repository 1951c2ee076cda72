"""The test run: the real settings, with the environment a test needs filled in first."""

import copy
import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-" + "k" * 50)
os.environ["DJANGO_DEBUG"] = "0"
os.environ["DJANGO_HTTPS"] = "0"
os.environ.setdefault("DJANGO_LANGUAGE_CODE", "en")
os.environ.setdefault("SERVICEDESK_VAR_DIR", tempfile.mkdtemp(prefix="servicedesk-test-"))

from .settings import *  # noqa: F403
from .settings import DATABASES, REDIS_URL, STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SERVICEDESK_SMS_BACKEND = "memory"  # servicedesk.sms.outbox, emptied before each test (tests/conftest.py)
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
if not REDIS_URL:
    CELERY_BROKER_URL = "memory://"
# django-axes needs a request on every authenticate(); the brute-force tests switch it on.
AXES_ENABLED = False

# The test database is UTF-8 whatever the cluster was created with (a cluster made under a C/POSIX locale
# defaults to SQL_ASCII, which stores Chinese as bytes and compares it wrongly): made from template0.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["TEST"] = {**DATABASES["default"].get("TEST", {}), "TEMPLATE": "template0", "CHARSET": "UTF8"}

# The reports replica, always, so every report test reads through it: a test mirror reads the test database
# itself (never a configured DATABASE_REPLICA_URL), and tests/conftest.py lets it see the test's own
# uncommitted rows. tests/servicedesk/test_db.py checks which pages read it.
DATABASES = {**DATABASES, "replica": {**copy.deepcopy(DATABASES["default"]), "TEST": {"MIRROR": "default"}}}
