"""Settings for servicedesk, read from the environment in this one place.

Defaults run the app with nothing installed: SQLite and a file-system Celery
broker under ``var/``. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL
and Redis. ``DJANGO_DEBUG=1`` is for a developer's machine only; with it off
(the default) the production hardening below applies and
``manage.py check --deploy`` is clean.
"""

from pathlib import Path

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer's machine keeps its variables in .env (written by scripts/setup); real ones win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
VAR_DIR = Path(env.str("SERVICEDESK_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-" + "x" * 40
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_celery_beat",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "servicedesk",
    "repairs",
    "parts",
    "contracts",
    "complaints",
    "penalties",
    "notify",
    "webhooks",
    "intake",
    "dashboard",
    "records",
    "api",
    "portal",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "servicedesk.middleware.PrivateNoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "servicedesk.urls"
WSGI_APPLICATION = "servicedesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "servicedesk.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'servicedesk.sqlite3'}"),
}
# A streaming replica of the primary, read by the period reports only (servicedesk/db.py says which and why);
# without one, they read the primary. Never a router: forms and workflow must read what they have just written.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    # A test run never creates a test replica: the alias reads the test database (servicedesk/test_settings.py).
    DATABASES["replica"] = {**env.db_url_config(DATABASE_REPLICA_URL), "TEST": {"MIRROR": "default"}}
for _database in DATABASES.values():
    _database["ATOMIC_REQUESTS"] = False
    if _database["ENGINE"] == "django.db.backends.sqlite3":
        Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # WAL and a busy timeout let the web process, the worker and beat share the file.
        _database["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    else:
        _database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        _database["CONN_HEALTH_CHECKS"] = True
        _database.setdefault("OPTIONS", {})
        _database["OPTIONS"].setdefault("connect_timeout", 5)
# servicedesk/prepared.py: the busiest pages' reads PREPAREd once per connection. Off behind a pooler in
# transaction mode (PgBouncer), whose server connections change under the client between transactions.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "servicedesk.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "servicedesk.backends.UnitModelBackend",
]
# Brute-force protection locks the account being guessed, not the address: a whole
# office behind one NAT address keeps working while one user's password is attacked.
# (The username+address pair is listed too; it is implied by the username rule.)
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("SERVICEDESK_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("SERVICEDESK_LOGIN_COOLOFF_HOURS", default=0.25)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The lock counts the client behind the reverse proxy, as every rate limit does (one helper).
AXES_CLIENT_IP_CALLABLE = "servicedesk.client_address.client_address"
# Addresses or networks of the reverse proxies whose X-Forwarded-For is believed (empty: none).
TRUSTED_PROXIES = env.list("DJANGO_TRUSTED_PROXIES", default=[])
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Most users read Chinese first; English is one click away.
LANGUAGE_CODE = env.str("DJANGO_LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Third-party assets come from the npm registry (package.json) into node_modules;
# only the files the pages use are exposed.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# Uploads (issue 12): one request uploads at most this much (servicedesk/uploads.py stops it as it arrives);
# each field has its own smaller bound: contract imports 40 MB, complaint attachments 10 MB, signatures 400 kB.
UPLOAD_MAX_REQUEST_BYTES = env.int("UPLOAD_MAX_REQUEST_BYTES", default=48 * 1024 * 1024)
COMPLAINT_ATTACHMENT_MAX_BYTES = env.int("COMPLAINT_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Inbound e-mail (intake/): the largest message read (a larger one is quarantined with its header only).
INTAKE_MESSAGE_MAX_BYTES = env.int("INTAKE_MESSAGE_MAX_BYTES", default=25 * 1024 * 1024)
# The mailbox the desk reads over IMAP (intake.tasks.read_mailbox, every minute). No host: no mailbox is read.
# TLS: "ssl" (IMAPS, port 993), "starttls" (port 143) or "none" (loopback only: the tests' server).
# UNIT: the code of the unit whose desk matches senders no customer has (empty: head office).
INTAKE_IMAP = {
    "HOST": env.str("SERVICEDESK_IMAP_HOST", default=""),
    "PORT": env.int("SERVICEDESK_IMAP_PORT", default=993),
    "USER": env.str("SERVICEDESK_IMAP_USER", default=""),
    "PASSWORD": env.str("SERVICEDESK_IMAP_PASSWORD", default=""),
    "FOLDER": env.str("SERVICEDESK_IMAP_FOLDER", default="INBOX"),
    "TLS": env.str("SERVICEDESK_IMAP_TLS", default="ssl"),
    "UNIT": env.str("SERVICEDESK_IMAP_UNIT", default=""),
    "TIMEOUT": env.int("SERVICEDESK_IMAP_TIMEOUT", default=30),
}
# The form fields of a request (a signature's data URL among them); files go to a temporary file above this.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = [
    "servicedesk.uploads.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security -------------------------------------------------------------
# Behind TLS in production; DJANGO_HTTPS=0 for a plain-HTTP test server.
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
# A load balancer's health checks ask over plain HTTP without X-Forwarded-Proto.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_PROXY", default=False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_SECONDS", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- Celery ---------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# A stopped or hung Redis must never hang a request: fail fast, the work is
# recorded in the database and picked up by the periodic sweep. Without
# max_retries kombu retries the connection for ever (tests/servicedesk/test_broker.py).
REDIS_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
    "max_retries": 0,
    "retry_on_timeout": False,
    "visibility_timeout": 3600,
}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
else:
    # An embedded broker for a machine with nothing installed: messages are files.
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Exchange bindings (broadcasts to workers) live beside the queue, not in the current directory.
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- E-mail -----------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
EMAIL_TIMEOUT = 10
EMAIL_FILE_PATH = env.str("DJANGO_EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))  # the filebased backend's folder
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="servicedesk@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- SMS (servicedesk/sms.py) ------------------------------------------------
SERVICEDESK_SMS_BACKEND = env.str("SERVICEDESK_SMS_BACKEND", default="console" if DEBUG else "http")
SERVICEDESK_SMS_FILE_PATH = env.str("SERVICEDESK_SMS_FILE_PATH", default=str(VAR_DIR / "sms.jsonl"))
SERVICEDESK_SMS_GATEWAY_URL = env.str("SERVICEDESK_SMS_GATEWAY_URL", default="")
SERVICEDESK_SMS_GATEWAY_KEY = env.str("SERVICEDESK_SMS_GATEWAY_KEY", default="")
SERVICEDESK_SMS_GATEWAY_TIMEOUT = env.float("SERVICEDESK_SMS_GATEWAY_TIMEOUT", default=10)
SERVICEDESK_SMS_SIGN = env.str("SERVICEDESK_SMS_SIGN", default="")  # the company's signature, e.g. 【某某售后】
SERVICEDESK_SMS_MAX_PARTS = env.int("SERVICEDESK_SMS_MAX_PARTS", default=4)

# --- Caches -----------------------------------------------------------------
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
    }
# Per process, never shared and never down: rendered fragments that depend only on their key
# (the main menu, keyed by the user's permissions and language), cheap to build again anywhere.
CACHES["local"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"}

# Structured (JSON) logs for production log shipping: DJANGO_LOG_FORMAT=json.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("DJANGO_LOG_FORMAT", default="plain"),
        }
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- REST API (api/) -------------------------------------------------------------
# Per user, in the shared cache (Redis in production, so every web process counts the same requests).
SERVICEDESK_API_RATE = env.str("SERVICEDESK_API_RATE", default="1200/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.rest.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.rest.ApiUserThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_user": SERVICEDESK_API_RATE},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "售后服务台 API",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from the drf-spectacular-sidecar package (static files), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

SERVICEDESK_BASE_URL = env.str("SERVICEDESK_BASE_URL", default="http://127.0.0.1:8000")
