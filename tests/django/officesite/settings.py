"""Settings of the test project: one app, `office`, and the database named by
the environment variable OFFICE_DB, in the forms dbpipe itself takes:

    OFFICE_DB=sqlite:/path/to/dev.db            (or a path ending in .db/.sqlite/.sqlite3)
    OFFICE_DB=postgres://user@127.0.0.1:5432/prod
    OFFICE_DB=mysql://user@127.0.0.1:3306/prod  (or mariadb://)

Passwords are not in the URL: PostgreSQL's come from libpq (PGPASSFILE,
PGPASSWORD), MariaDB's from MYSQL_PWD, as for the dbpipe programs.
"""
import os
from urllib.parse import unquote, urlsplit

SECRET_KEY = "dbpipe-django-test-tier-not-secret"
DEBUG = False
ALLOWED_HOSTS = []
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "office",
]
MIDDLEWARE = []
ROOT_URLCONF = None
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# The test server runs MariaDB without a strict sql_mode of its own.
SILENCED_SYSTEM_CHECKS = ["mysql.W002"]


def _database(url):
    if not url:
        raise RuntimeError("OFFICE_DB is not set: sqlite:PATH, postgres://... or mysql://...")
    if url.startswith("sqlite:") and not url.startswith("sqlite://"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url[len("sqlite:"):]}
    if url.startswith("sqlite://"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url[len("sqlite://"):]}
    if "://" not in url and url.endswith((".db", ".sqlite", ".sqlite3")):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url}
    u = urlsplit(url)
    common = {
        "NAME": unquote(u.path.lstrip("/")),
        "USER": unquote(u.username or ""),
        "PASSWORD": unquote(u.password or ""),
        "HOST": u.hostname or "",
        "PORT": str(u.port or ""),
    }
    if u.scheme in ("postgres", "postgresql"):
        return dict(common, ENGINE="django.db.backends.postgresql")
    if u.scheme in ("mysql", "mariadb"):
        if not common["PASSWORD"]:
            common["PASSWORD"] = os.environ.get("MYSQL_PWD", "")
        return dict(common, ENGINE="django.db.backends.mysql",
                    OPTIONS={"charset": "utf8mb4"})
    raise RuntimeError("OFFICE_DB: unknown kind of database: %r" % url)


DATABASES = {"default": _database(os.environ.get("OFFICE_DB", ""))}
