"""Settings, read from the environment (12-factor).

With nothing set, the product runs on one machine with no servers: SQLite in
var/ and Celery's filesystem broker, so `make run` works on a bare laptop.
Set DATABASE_URL and CELERY_BROKER_URL (or REDIS_URL) for PostgreSQL and Redis.
Production uses alignment.settings_production, which refuses to start without
its secrets.
"""

import warnings
from pathlib import Path

import environ
from celery.schedules import crontab
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("ALIGNMENT_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# A fixed key for local use only; settings_production refuses to run without its own.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-only-insecure-key-never-in-production")
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
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "alignment",
    "glossary",
    "leads",
    "sla",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF and the views: a NUL byte in a query or form field is a 400 here.
    "alignment.inputs.RefuseUnsafeInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Dashboards and reports read from the replica, when there is one (alignment.replica).
    "alignment.replica.ReplicaReadsMiddleware",
    # The product's 404 page even with DEBUG on (not the list of every URL pattern).
    "alignment.middleware.NotFoundPageMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "alignment.urls"
WSGI_APPLICATION = "alignment.wsgi.application"
ASGI_APPLICATION = "alignment.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "alignment.context_processors.navigation",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'alignment.sqlite3'}"),
}
# A streaming replica of the primary (optional): dashboards and reports read from it,
# everything else from the primary (alignment.replica).
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
REPLICA_READS = "replica" in DATABASES
REPLICA_READ_PATHS = ("/sla/dashboard/", "/api/v1/sla/dashboard/", "/leads/reports/",
                      "/api/v1/leads/reports/", "/sla/reviews/")  # fmt: skip
DATABASE_ROUTERS = ["alignment.replica.ReplicaRouter"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat write to one file: wait for the lock rather than fail,
    # and take it at BEGIN so two writers never deadlock on an upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # The covering index of the dashboards is a PostgreSQL optimisation; SQLite
    # builds it without its INCLUDE columns, and saying so on every command is noise.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "alignment.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: five failures for one username from one address lock that
# pair out for a quarter of an hour; a success resets the count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind a TLS proxy: how many proxies append to the header below. 0 (the default)
# trusts no header and uses the connection's address (alignment.throttling).
ALIGNMENT_PROXY_COUNT = env.int("ALIGNMENT_PROXY_COUNT", default=0)
ALIGNMENT_PROXY_HEADER = env.str("ALIGNMENT_PROXY_HEADER", default="HTTP_X_FORWARDED_FOR")
AXES_CLIENT_IP_CALLABLE = "alignment.throttling.client_ip"

# A cache every process shares: throttles count across web workers (Redis), or
# across the processes of one machine (files) where no Redis is configured.
CACHE_URL = env.str(
    "CACHE_URL",
    default=env.str("REDIS_URL", default="") or env.str("CELERY_BROKER_URL", default=""),
)
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# The public X Education lead data set (demo leads, benchmarks, import tests):
# ../shared/data beside the repository unless said otherwise.
LEAD_DATA_FILE = Path(
    env.str(
        "ALIGNMENT_LEAD_DATA",
        default=str(BASE_DIR.parent / "shared" / "data" / "x-education-leads.csv"),
    )
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (CSV imports) live here, behind the default storage; never served as static.
MEDIA_ROOT = VAR_DIR / "media"
# An upload larger than this streams to a temporary file instead of memory
# (a 50 MB CSV never sits in a web worker's RAM); form fields stay small.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DEBUG:
    # Locally WhiteNoise serves from the finders; staticfiles/ exists only after
    # collectstatic (production), so its absence is no news here.
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")

# Locally, each email is written to a file under var/mail/ (one file per batch
# sent), to read with any editor; printed to the console, they buried the
# terminal of `make run` within seconds. Production sends by SMTP.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# A mail server that accepts and never answers must not hold a worker for ever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# An email claimed by a worker that neither sent it nor renewed its claim for this long
# is taken by another (alignment.notifications); tests shorten it.
EMAIL_CLAIM_SECONDS = env.int("EMAIL_CLAIM_SECONDS", default=120)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Alignment <alignment@localhost>")
# Links in emails point here (`make run PORT=...` sets it to the address it serves).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# Content-Security-Policy: everything from our own origin, no inline script or
# style (htmx's indicator styles are switched off in base.html for that reason).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    # Tokens first: an API call without credentials is a 401 that says "Token".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "alignment.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, refusing NUL bytes, lone surrogates, out-of-range numbers and deep
    # nesting (400); a form or multipart body is a 415.
    "DEFAULT_PARSER_CLASSES": ["alignment.inputs.SafeJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_SCHEMA_CLASS": "alignment.schema.AlignmentAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "alignment.throttling.AnonymousThrottle",
        "alignment.throttling.PersonThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANONYMOUS", default="30/minute"),
        "user": env.str("API_THROTTLE_PERSON", default="600/minute"),
    },
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    # The services' refusals (409, 403, 400 by field) answered in one place.
    "EXCEPTION_HANDLER": "alignment.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Alignment API",
    "DESCRIPTION": "Leads, definitions and service-level agreements between marketing and sales.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # 3.1 for its `webhooks` section: the events Alignment sends (alignment.schema).
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "alignment.schema.add_webhooks",
    ],
    # The schema maps every endpoint and field: for signed-in people and tokens only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "ENUM_NAME_OVERRIDES": {
        "LeadStageEnum": "leads.machine.Stage",
        "StageSideEnum": "glossary.models.StageSide",
        "SignatureSideEnum": "alignment.documents.Side",
        "VersionStatusEnum": "alignment.documents.Status",
        "WebhookEndpointKindEnum": "alignment.models.EndpointKind",
    },
}

# Celery: the broker only wakes workers; the database is the truth.
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=env.str("REDIS_URL", default="filesystem://")
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # One folder for "in" and "out" so that separate processes (web, worker,
    # beat) share the queue with no server at all.
    CELERY_BROKER_FOLDER = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER),
        "data_folder_out": str(CELERY_BROKER_FOLDER),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_FOLDER = None
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
# Three queues, so that no kind of work waits behind another: the SLA scan (and the
# heartbeat that proves it runs) never waits on email or on a long CSV import, and a
# hung mail server holds only the email pool. Production runs a pool per queue
# (docker-compose, Procfile); a worker started without -Q consumes all three.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
SCAN_QUEUE = env.str("CELERY_SCAN_QUEUE", default="scan")
EMAIL_QUEUE = env.str("CELERY_EMAIL_QUEUE", default="email")
CELERY_TASK_QUEUES = [Queue(name) for name in (CELERY_TASK_DEFAULT_QUEUE, SCAN_QUEUE, EMAIL_QUEUE)]
CELERY_TASK_ROUTES = {
    "sla.tasks.scan": {"queue": SCAN_QUEUE},
    "alignment.tasks.heartbeat": {"queue": SCAN_QUEUE},
    "alignment.tasks.deliver_emails": {"queue": EMAIL_QUEUE},
    "alignment.tasks.send_digests": {"queue": EMAIL_QUEUE},
}
# Every task has a soft limit (an exception it can clean up after) and a hard one (the
# worker process is killed and replaced). These defaults fit the longest task, a CSV
# import (it resumes where it stopped); the scan and email tasks set tighter ones.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
SLA_SCAN_SECONDS = env.float("SLA_SCAN_SECONDS", default=15.0)
LEAD_IMPORT_SWEEP_SECONDS = env.float("LEAD_IMPORT_SWEEP_SECONDS", default=60.0)
WEBHOOK_SECONDS = env.float("WEBHOOK_SECONDS", default=5.0)
# A delivery claimed longer ago than this is taken again (its worker died mid-send).
WEBHOOK_CLAIM_SECONDS = env.int("WEBHOOK_CLAIM_SECONDS", default=60)
WEBHOOK_SENDERS = env.int("WEBHOOK_SENDERS", default=8)
# History tables on PostgreSQL are partitioned by month (alignment.partitions): this many
# months are made ahead; months older than HISTORY_RETENTION_MONTHS (0: keep every month)
# are detached, written to HISTORY_ARCHIVE_DIR as CSV files, and dropped.
HISTORY_PARTITIONS_AHEAD = env.int("ALIGNMENT_HISTORY_PARTITIONS_AHEAD", default=3)
HISTORY_RETENTION_MONTHS = env.int("ALIGNMENT_HISTORY_RETENTION_MONTHS", default=0)
HISTORY_ARCHIVE_DIR = Path(
    env.str("ALIGNMENT_HISTORY_ARCHIVE_DIR", default=str(VAR_DIR / "archive"))
)
CELERY_BEAT_SCHEDULE = {
    # A scan still queued when the next is due is dropped: the next one does its work.
    "sla-scan": {
        "task": "sla.tasks.scan",
        "schedule": SLA_SCAN_SECONDS,
        "options": {"expires": SLA_SCAN_SECONDS},
    },
    "sla-commitments": {"task": "sla.tasks.compute_commitments", "schedule": 3600.0},
    # Campaigns that would bring a sales team more leads than it can take, before they start.
    "sla-campaign-overloads": {"task": "sla.tasks.flag_campaign_overloads", "schedule": 3600.0},
    # A lost "deliver now" message is picked up by this sweep.
    "deliver-emails": {
        "task": "alignment.tasks.deliver_emails",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # So is a CSV import queued while the broker was down.
    "sweep-lead-imports": {
        "task": "leads.tasks.sweep_lead_imports",
        "schedule": LEAD_IMPORT_SWEEP_SECONDS,
        "options": {"expires": LEAD_IMPORT_SWEEP_SECONDS},
    },
    # The outbox is the truth: each tick sends what is due (alignment.webhooks).
    "deliver-webhooks": {
        "task": "alignment.tasks.deliver_webhooks",
        "schedule": WEBHOOK_SECONDS,
        "options": {"expires": WEBHOOK_SECONDS},
    },
    # Queued leads whose rep freed up while no drain ran (a lost event) are handed off here.
    "drain-lead-queues": {
        "task": "leads.tasks.drain_queues",
        "schedule": env.float("LEAD_QUEUE_SWEEP_SECONDS", default=60.0),
        "options": {"expires": 60.0},
    },
    "daily-digest": {
        "task": "alignment.tasks.send_digests",
        "schedule": crontab(hour=env.int("DIGEST_HOUR_UTC", default=7), minute=0),
    },
    "heartbeat": {
        "task": "alignment.tasks.heartbeat",
        "schedule": env.float("HEARTBEAT_SECONDS", default=15.0),
    },
    # The coming months' partitions of the history tables, and whole months past the
    # retention written to files and dropped (alignment.partitions). Hourly: a missed
    # run costs nothing (a month without its partition lands in DEFAULT).
    "history-partitions": {"task": "alignment.tasks.maintain_partitions", "schedule": 3600.0},
}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Beat that survives its host: run one on each of two machines or more. They share
    # the schedule in Redis and only the holder of a lock there (renewed on every tick)
    # sends anything; if it dies, its lock expires after BEAT_LOCK_SECONDS and another
    # beat, asking every fifth of that, takes over with the last-run times it left.
    BEAT_LOCK_SECONDS = env.int("BEAT_LOCK_SECONDS", default=15)
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = CELERY_BROKER_URL
    CELERY_REDBEAT_KEY_PREFIX = env.str("BEAT_KEY_PREFIX", default="alignment:beat")
    CELERY_REDBEAT_LOCK_TIMEOUT = BEAT_LOCK_SECONDS
    CELERY_BEAT_MAX_LOOP_INTERVAL = max(1, BEAT_LOCK_SECONDS // 5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"no_traceback_below_500": {"()": "alignment.logs.NoTracebackBelow500"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["no_traceback_below_500"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own default config gives "django" a console handler of its own,
        # and the record then reached ours too: every 403 was printed twice.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        # The filesystem broker says "No hostname was supplied" on every connection.
        "kombu.connection": {"level": "ERROR"},
    },
}
