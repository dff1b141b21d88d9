"""Django settings for Tongban, read from the environment.

One module for every environment: development, CI and production differ only in environment
variables (docs/deploy.md lists them). ``TONGBAN_ENV=dev`` allows generated local secrets under
``var/``; anything else requires them to be given, and a malformed value stops start-up.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from tongban.devsecrets import dev_oidc_private_key, dev_secret_key
from tongban.env import env_bool, env_choice, env_int, env_list, env_str
from tongban.logconfig import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TONGBAN_VAR_DIR", str(BASE_DIR / "var")))

TONGBAN_ENV = env_choice("TONGBAN_ENV", "prod", {"dev", "prod"})
DEV = TONGBAN_ENV == "dev"
DEBUG = env_bool("TONGBAN_DEBUG", default=DEV)

SECRET_KEY = env_str("TONGBAN_SECRET_KEY") or (dev_secret_key(VAR_DIR) if DEV else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("TONGBAN_SECRET_KEY is required outside TONGBAN_ENV=dev.")
if not DEV and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("TONGBAN_SECRET_KEY must be at least 50 characters long.")

PUBLIC_URL = env_str("TONGBAN_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = env_list("TONGBAN_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
HTTPS = env_bool("TONGBAN_HTTPS", default=PUBLIC_URL.startswith("https://"))
CSRF_TRUSTED_ORIGINS = env_list("TONGBAN_CSRF_TRUSTED_ORIGINS", [PUBLIC_URL])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "oauth2_provider",
    "axes",
    "ninja",
    "django_q",
    "tongban.core",
    "tongban.identity",
    "tongban.catalog",
    "tongban.notifications",
    "tongban.appointments",
    "tongban.cases",
    "tongban.bundles",
    "tongban.basedata",
    "tongban.resources",
    "tongban.exchange",
    "tongban.licences",
    "tongban.supervision",
    "tongban.reviews",
    "tongban.dashboards",
    "tongban.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tongban.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tongban.core.middleware.StaticCSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tongban.urls"
WSGI_APPLICATION = "tongban.wsgi.application"
ASGI_APPLICATION = "tongban.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tongban.portal.context_processors.portal",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite under var/ is the embedded default; DATABASE_URL selects PostgreSQL in production.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tongban.sqlite3'}")
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("TONGBAN_DB_CONN_MAX_AGE", 600))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # Take the write lock at BEGIN so concurrent writers queue instead of failing mid-transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db["CONN_HEALTH_CHECKS"] = True
else:
    raise ImproperlyConfigured("DATABASE_URL must point at SQLite or PostgreSQL.")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions ----------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("TONGBAN_SESSION_SECONDS", 8 * 3600, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Identity --------------------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "tongban.identity.backends.IdentifierBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "tongban.identity.validators.CharacterClassValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:profile"
LOGOUT_REDIRECT_URL = "portal:home"

# Brute-force lockout (django-axes): N failures for one login identifier lock it for a while.
AXES_FAILURE_LIMIT = env_int("TONGBAN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("TONGBAN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "tongban.identity.views.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

# Second factor for staff: "required" refuses staff pages until a TOTP device is verified;
# "optional" (the demo default) lets staff enrol when they choose. Enrolled staff are always asked.
STAFF_2FA = env_choice("TONGBAN_STAFF_2FA", "required", {"required", "optional"})
OTP_TOTP_ISSUER = "通办 Tongban"

# --- OpenID Connect provider (django-oauth-toolkit) -----------------------------------------
OIDC_RSA_PRIVATE_KEY = env_str("TONGBAN_OIDC_RSA_PRIVATE_KEY")
if not OIDC_RSA_PRIVATE_KEY and env_str("TONGBAN_OIDC_RSA_PRIVATE_KEY_FILE"):
    OIDC_RSA_PRIVATE_KEY = Path(env_str("TONGBAN_OIDC_RSA_PRIVATE_KEY_FILE")).read_text()
if not OIDC_RSA_PRIVATE_KEY:
    if not DEV:
        raise ImproperlyConfigured(
            "TONGBAN_OIDC_RSA_PRIVATE_KEY or TONGBAN_OIDC_RSA_PRIVATE_KEY_FILE is required outside dev."
        )
    OIDC_RSA_PRIVATE_KEY = dev_oidc_private_key(VAR_DIR)

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
    "OIDC_ISS_ENDPOINT": PUBLIC_URL,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"] if DEV or not HTTPS else ["https"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("TONGBAN_ACCESS_TOKEN_SECONDS", 3600, minimum=60),
    "ID_TOKEN_EXPIRE_SECONDS": env_int("TONGBAN_ACCESS_TOKEN_SECONDS", 3600, minimum=60),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("TONGBAN_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600, minimum=3600),
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "SCOPES": {
        "openid": _("Sign you in"),
        "profile": _("Your name, account kind and real-name level"),
        "identity": _("Your masked ID number"),
        "staff": _("Your department and staff roles"),
        "exchange": _("Call the data-sharing exchange (department systems only)"),
    },
    "DEFAULT_SCOPES": ["openid"],
    "OAUTH2_VALIDATOR_CLASS": "tongban.identity.oidc.TongbanOAuth2Validator",
    # oauthlib's OpenID Connect server with PKCE limited to S256 (tongban.identity.oidc).
    "OIDC_SERVER_CLASS": "tongban.identity.oidc.TongbanOIDCServer",
    # Only the authorization code flow (with PKCE) signs people in; machine clients use client credentials.
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post", "none"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token", "client_credentials"],
    # RFC 9700 (OAuth 2.0 Security Best Current Practice): no implicit or password grant, no "plain"
    # PKCE, no access tokens in query strings, the RFC 9207 `iss` in authorization responses, and
    # access and refresh tokens stored only as hashes.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
}

# --- Internationalisation --------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

# --- Security headers ------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("TONGBAN_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Logging ---------------------------------------------------------------------------------
LOGGING = logging_config(
    fmt=env_choice("TONGBAN_LOG_FORMAT", "json", {"json", "console"}),
    level=env_choice("TONGBAN_LOG_LEVEL", "info", {"debug", "info", "warning", "error"}).upper(),
)

# --- Tongban ---------------------------------------------------------------------------------
TONGBAN_DEMO_PASSWORD = env_str("TONGBAN_DEMO_PASSWORD", "Tongban2026!")
TONGBAN_SITE_NAME = env_str("TONGBAN_SITE_NAME", "六安市政务服务网")

# --- Outbound messages (tongban.notifications.channels) ----------------------------------------
# SMS: "file" appends JSON lines to var/outbox/sms.jsonl, "console" logs one masked line; a real
# gateway is another backend. E-mail goes through Django's mail framework: "file" writes to
# var/outbox/mail/, "console" prints, "smtp" uses the TONGBAN_EMAIL_* server settings.
TONGBAN_SMS_BACKEND = env_choice(
    "TONGBAN_SMS_BACKEND", "file" if DEV else "console", {"console", "file", "locmem"}
)
_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
}
EMAIL_BACKEND = _EMAIL_BACKENDS[
    env_choice("TONGBAN_EMAIL_BACKEND", "file" if DEV else "console", set(_EMAIL_BACKENDS))
]
EMAIL_FILE_PATH = VAR_DIR / "outbox" / "mail"
EMAIL_HOST = env_str("TONGBAN_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("TONGBAN_EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("TONGBAN_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("TONGBAN_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("TONGBAN_EMAIL_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("TONGBAN_EMAIL_FROM", "noreply@tongban.invalid")

# --- Appointments ------------------------------------------------------------------------------
# An applicant who missed this many bookings within the look-back window may not book for a while.
TONGBAN_APPOINTMENT_NO_SHOW_LIMIT = env_int("TONGBAN_APPOINTMENT_NO_SHOW_LIMIT", 3, minimum=1)
TONGBAN_APPOINTMENT_NO_SHOW_WINDOW_DAYS = env_int("TONGBAN_APPOINTMENT_NO_SHOW_WINDOW_DAYS", 90, minimum=1)
TONGBAN_APPOINTMENT_BAN_DAYS = env_int("TONGBAN_APPOINTMENT_BAN_DAYS", 30, minimum=1)
# --- Background jobs (django-q2; docs/adr/0013-background-jobs.md) ------------------------------
# The queue lives in the database by default (no server to run) and in Redis when REDIS_URL is set.
# `manage.py qcluster` runs the workers; TONGBAN_TASKS_SYNC=1 runs every job inline (tests).
Q_CLUSTER: dict[str, object] = {
    "name": "tongban",
    "workers": env_int("TONGBAN_TASK_WORKERS", 2, minimum=1),
    "timeout": env_int("TONGBAN_TASK_TIMEOUT_SECONDS", 3600, minimum=10),
    "retry": env_int("TONGBAN_TASK_TIMEOUT_SECONDS", 3600, minimum=10) + 60,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "poll": 1,
    "sync": env_bool("TONGBAN_TASKS_SYNC", default=False),
    "label": "Background jobs",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Base databases and the exchange ----------------------------------------------------------
# Rows of an import file and of a reconciliation file; a larger file is refused before it is read.
TONGBAN_IMPORT_MAX_ROWS = env_int("TONGBAN_IMPORT_MAX_ROWS", 5_000_000, minimum=1)
TONGBAN_IMPORT_MAX_BYTES = env_int("TONGBAN_IMPORT_MAX_BYTES", 1024 * 1024 * 1024, minimum=1024)
# Working days the responsible department has to settle a difference found by a reconciliation.
TONGBAN_DATA_QUALITY_DAYS = env_int("TONGBAN_DATA_QUALITY_DAYS", 10, minimum=1, maximum=250)
# The secret that keys the hash of every looked-up key in the call record (HMAC-SHA256), so the record
# shows which calls asked for the same person without holding, or letting anyone recompute, the ID.
TONGBAN_EXCHANGE_KEY_SECRET = env_str("TONGBAN_EXCHANGE_KEY_SECRET") or f"exchange-key:{SECRET_KEY}"
# The secret that encrypts the departments' licence signing keys at rest (licences.signing). Changing
# it makes the stored keys unusable: rotate the keys first (docs/deploy.md). An HSM replaces this.
TONGBAN_LICENCE_KEY_SECRET = env_str("TONGBAN_LICENCE_KEY_SECRET") or f"licence-key:{SECRET_KEY}"
# Public licence verifications (the page, GET/POST /api/v1/licences/verify) answered per client
# address, in django-ratelimit's syntax ("600/m"); empty (the default) does not limit them.
TONGBAN_LICENCE_VERIFY_RATE = env_str("TONGBAN_LICENCE_VERIFY_RATE", "")
if TONGBAN_LICENCE_VERIFY_RATE and not re.fullmatch(r"\d+/\d*[smhd]", TONGBAN_LICENCE_VERIFY_RATE):
    raise ImproperlyConfigured('TONGBAN_LICENCE_VERIFY_RATE must look like "600/m" (or be empty).')
# The catalogue office: its data officers and administrators review and publish data resources.
TONGBAN_RESOURCES_OFFICE = env_str("TONGBAN_RESOURCES_OFFICE", "luan-sjj")
# The department that runs unified identity: its grant for the population resource is what the
# real-name check (level 2) calls the exchange under.
TONGBAN_REAL_NAME_DEPARTMENT = env_str("TONGBAN_REAL_NAME_DEPARTMENT", "luan-sjj")
# Stand-ins for two departments' systems behind the exchange (tongban/exchange/demo_upstream.py):
# the demo only.
TONGBAN_DEMO_UPSTREAMS = env_bool("TONGBAN_DEMO_UPSTREAMS", default=DEV)
# Keys in one batch query of the exchange.
TONGBAN_EXCHANGE_BATCH_MAX = env_int("TONGBAN_EXCHANGE_BATCH_MAX", 100, minimum=1, maximum=1000)

# Lockout is per login identifier on purpose: offices share one NAT address, and locking an IP would
# lock out a whole service hall. Credential stuffing is met by the per-identifier limit plus rate limits.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
