"""The configuration checklist (the plan's Appendix B) and typed settings for both services.

Every variable has one validator here. The services use them to refuse to start on a bad
value, and `jobnaut config check` uses them to print the checklist: one source of truth.
Messages name the variable and what is wrong, never the value, because several of these
variables are secrets.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when used: the `jobnaut` command should start quickly
    from cryptography.fernet import MultiFernet
    from sqlalchemy.engine import URL

class ConfigError(Exception):
    """A configuration value is missing or malformed. The message never holds the value."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))


class Environment(StrEnum):
    development = "development"
    staging = "staging"
    production = "production"


def parse_database_url(raw: str) -> URL:
    """Accept postgresql:// or sqlite:/// URLs; return one SQLAlchemy can use with psycopg 3."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw)
    except ArgumentError:
        raise ValueError("not a database URL (expected postgresql://… or sqlite:///…)") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, ""):
            raise ValueError("sqlite URL names no database file (expected sqlite:///path/to.db)")
        return url.set(drivername="sqlite")
    if backend in ("postgresql", "postgres"):
        if not url.database:
            raise ValueError("postgresql URL names no database (expected …/dbname)")
        return url.set(drivername="postgresql+psycopg")
    raise ValueError(f"unsupported database '{backend}' (use postgresql or sqlite)")


def parse_encryption_keys(raw: str) -> MultiFernet:
    """ENCRYPTION_KEY holds one or more Fernet keys, comma separated, newest first.

    The newest key encrypts; every key decrypts. Keeping an old key after a rotation is
    what keeps data written under it readable.
    """
    from cryptography.fernet import Fernet, MultiFernet

    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys:
        raise ValueError("no key given (expected one or more Fernet keys, comma separated)")
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            raise ValueError(
                f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes); "
                "generate one with `jobnaut config generate-key`"
            ) from None
    return MultiFernet(fernets)


def parse_environment(raw: str) -> Environment:
    try:
        return Environment(raw.strip().lower())
    except ValueError:
        allowed = ", ".join(e.value for e in Environment)
        raise ValueError(f"must be one of {allowed}") from None


def parse_port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ValueError("not a whole number") from None
    if not 1 <= port <= 65535:
        raise ValueError("must be between 1 and 65535")
    return port


def parse_http_url(raw: str) -> str:
    import httpx

    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL:
        raise ValueError("not a URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an http:// or https:// URL with a host")
    return str(url).rstrip("/")


_CLERK_SECRET = re.compile(r"sk_(test|live)_[A-Za-z0-9_-]{8,}")
_API_KEY = re.compile(r"[\x21-\x7e]{8,256}")  # printable ASCII, no spaces


def parse_smtp_url(raw: str) -> str:
    """smtp://[user:password@]host[:port] (or smtps://): where the backend sends mail."""
    from urllib.parse import urlsplit

    try:
        url = urlsplit(raw)
        url.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("not a URL") from None
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ValueError("must be an smtp:// or smtps:// URL with a host")
    return raw


def parse_mail_address(raw: str) -> str:
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", raw.strip()):
        raise ValueError("must be an email address like status@example.com")
    return raw.strip()


def parse_clerk_secret(raw: str) -> str:
    if not _CLERK_SECRET.fullmatch(raw):
        raise ValueError("does not look like a Clerk secret key (sk_test_… or sk_live_… "
                         "followed by at least 8 letters or digits)")
    return raw


def parse_api_key(raw: str) -> str:
    if not _API_KEY.fullmatch(raw):
        raise ValueError("must be 8 to 256 printable characters without spaces")
    return raw


def parse_clerk_issuer(raw: str) -> str:
    """The `iss` Clerk puts in its session tokens: the instance's Frontend API URL."""
    url = parse_http_url(raw)
    if not url.startswith("https://"):
        raise ValueError("must be the https:// URL of the Clerk instance (its Frontend API)")
    return url


def parse_origins(raw: str) -> tuple[str, ...]:
    """Comma-separated origins (scheme://host[:port], no path): the `azp` values accepted."""
    origins = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            origin = parse_http_url(part)
        except ValueError:
            raise ValueError("each authorized party must be an http(s) origin") from None
        if origin.count("/") != 2:  # "https://host" has exactly two: no path allowed
            raise ValueError("an authorized party is an origin, without a path")
        origins.append(origin)
    if not origins:
        raise ValueError("name at least one origin, e.g. https://jobnaut.example")
    return tuple(origins)


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def parse_timeout(raw: str) -> float:
    """Seconds to wait: positive and at most five minutes (a page nobody waits that long for)."""
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError("not a number of seconds") from None
    if not math.isfinite(seconds) or not 0 < seconds <= 300:
        raise ValueError("must be more than 0 and at most 300 seconds")
    return seconds


def parse_pem_public_key(raw: str) -> str:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    text = raw.replace("\\n", "\n").strip()
    try:
        load_pem_public_key(text.encode())
    except ValueError:
        raise ValueError("not a PEM public key") from None
    return text


@dataclass(frozen=True)
class Variable:
    name: str
    parse: Callable[[str], object]
    description: str
    services: tuple[str, ...]
    required: bool = True
    secret: bool = False


# The plan's Appendix B checklist, in Python terms, followed by the optional integrations.
CHECKLIST: tuple[Variable, ...] = (
    Variable("DATABASE_URL", parse_database_url, "database the backend uses", ("backend",),
             secret=True),
    Variable("CLERK_SECRET_KEY", parse_clerk_secret, "Clerk sign-in (only when Clerk is on)",
             ("backend",), required=False, secret=True),
    Variable("ENCRYPTION_KEY", parse_encryption_keys, "keys for personal data at rest",
             ("backend",), secret=True),
    Variable("JOBNAUT_ENV", parse_environment, "development, staging or production",
             ("backend", "frontend")),
    Variable("PORT", parse_port, "port the service listens on", ("backend", "frontend"),
             required=False),
    Variable("API_BASE_URL", parse_http_url, "where the frontend reaches the backend",
             ("frontend",)),
)
OPTIONAL: tuple[Variable, ...] = (
    Variable("CLERK_JWT_KEY", parse_pem_public_key, "Clerk's PEM public key for session tokens",
             ("backend",), required=False),
    Variable("CLERK_ISSUER", parse_clerk_issuer, "the `iss` of Clerk's session tokens",
             ("backend",), required=False),
    Variable("CLERK_AUTHORIZED_PARTIES", parse_origins,
             "origins allowed as the `azp` of Clerk's session tokens", ("backend",),
             required=False),
    Variable("JSEARCH_API_URL", parse_http_url, "job-feed API base URL", ("backend",),
             required=False),
    Variable("API_DOCS", parse_bool,
             "serve /docs, /redoc and /openapi.json (default: on except in production)",
             ("backend",), required=False),
    Variable("METRICS_TOKEN", parse_api_key,
             "bearer token that may read /metrics from off the machine (loopback always may)",
             ("backend",), required=False, secret=True),
    Variable("JSEARCH_API_KEY", parse_api_key, "job-feed API key", ("backend",),
             required=False, secret=True),
    Variable("SMTP_URL", parse_smtp_url,
             "mail server for status-notice subscriptions (smtp://user:password@host:port)",
             ("backend",), required=False, secret=True),
    Variable("MAIL_FROM", parse_mail_address, "sender address of the mails the backend sends",
             ("backend",), required=False),
    Variable("PUBLIC_URL", parse_http_url,
             "the web app's public address, for the links in those mails", ("backend",),
             required=False),
    Variable("API_TIMEOUT_SECONDS", parse_timeout, "how long the web app waits for the API",
             ("frontend",), required=False),
    Variable("SECURE_COOKIES", parse_bool,
             "cookies only over HTTPS, with the __Host- prefix (default: on in production)",
             ("frontend",), required=False),
)
# With Clerk sign-in on, a token is accepted only when all of these check out.
CLERK_NEEDS = ("CLERK_JWT_KEY", "CLERK_ISSUER", "CLERK_AUTHORIZED_PARTIES")
SETTINGS: dict[str, Variable] = {var.name: var for var in CHECKLIST + OPTIONAL}
SERVICES = ("backend", "frontend")
# Only these are secrets: their values are hidden everywhere and masked in command output.
SECRET_KEYS = frozenset(var.name for var in SETTINGS.values() if var.secret)
# Given by the control plane to a release's backend: the head revision of the release's
# migrations, read from its build once; the backend then never imports Alembic to know it.
EXPECTED_SCHEMA_VARIABLE = "JOBNAUT_EXPECTED_SCHEMA"


def settings_of(service: str) -> frozenset[str]:
    """The settings `service` reads: the only ones its process is given."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r} (one of {', '.join(SERVICES)})")
    return frozenset(name for name, var in SETTINGS.items() if service in var.services)


def unknown_setting(name: str) -> str | None:
    """Why `name` cannot be set (None when it is a known setting), with a close match if any."""
    if name in SETTINGS:
        return None
    close = difflib.get_close_matches(name, SETTINGS, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else \
        f"; known settings: {', '.join(sorted(SETTINGS))}"
    return f"{name} is not a JobNaut setting{hint}"


@dataclass(frozen=True)
class CheckResult:
    name: str
    state: str  # "ok", "missing", "invalid" or "unset" (optional and not given)
    reason: str
    secret: bool

    @property
    def ok(self) -> bool:
        return self.state in ("ok", "unset")


def _clerk_on(env: Mapping[str, str]) -> bool:
    return any(env.get(name, "").strip() for name in ("CLERK_SECRET_KEY", *CLERK_NEEDS))


def check_variables(env: Mapping[str, str], service: str | None = None) -> list[CheckResult]:
    """Validate every checklist variable for `service` (or for both) and say why each fails."""
    results = []
    for var in CHECKLIST + OPTIONAL:
        if service is not None and service not in var.services:
            continue
        raw = env.get(var.name, "")
        if not raw.strip():
            required = var.required
            if var.name in CLERK_NEEDS and _clerk_on(env):
                required = True  # Clerk sign-in needs everything that verifies its tokens.
            state, reason = ("missing", "required, not set") if required else ("unset", "not set")
            results.append(CheckResult(var.name, state, reason, var.secret))
            continue
        try:
            var.parse(raw)
        except ValueError as exc:
            results.append(CheckResult(var.name, "invalid", str(exc), var.secret))
        else:
            results.append(CheckResult(var.name, "ok", var.description, var.secret))
    if (
        service in (None, "backend")
        and env.get("JOBNAUT_ENV", "").strip().lower() == Environment.production
        and env.get("DATABASE_URL", "").startswith("sqlite")
    ):
        results.append(CheckResult(
            "DATABASE_URL", "invalid", "production must run on PostgreSQL, not SQLite", True))
    return results


def read_dotenv(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines from a .env file (blank lines and # comments skipped)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def effective_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment layered over a `.env` file in the working directory."""
    merged = read_dotenv(Path.cwd() / ".env")
    merged.update(os.environ if env is None else env)
    return merged


@dataclass(frozen=True)
class BackendSettings:
    database_url: URL
    encryption: MultiFernet
    environment: Environment
    port: int
    clerk_secret_key: str | None
    clerk_jwt_key: str | None
    clerk_issuer: str | None
    clerk_authorized_parties: tuple[str, ...]
    api_docs: bool
    metrics_token: str | None
    jsearch_api_url: str | None
    jsearch_api_key: str | None
    release: str
    commit: str
    smtp_url: str | None = None
    mail_from: str = "status@jobnaut.invalid"
    public_url: str = "http://127.0.0.1:8080"

    def __repr__(self) -> str:  # never show the secrets held here
        return f"BackendSettings(environment={self.environment}, port={self.port})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BackendSettings:
        values = effective_environment(env)
        _raise_on_problems(check_variables(values, "backend"))
        return cls(
            database_url=parse_database_url(values["DATABASE_URL"]),
            encryption=parse_encryption_keys(values["ENCRYPTION_KEY"]),
            environment=parse_environment(values["JOBNAUT_ENV"]),
            port=parse_port(values.get("PORT") or "8000"),
            clerk_secret_key=values.get("CLERK_SECRET_KEY") or None,
            clerk_jwt_key=(parse_pem_public_key(values["CLERK_JWT_KEY"])
                           if values.get("CLERK_JWT_KEY") else None),
            clerk_issuer=(parse_clerk_issuer(values["CLERK_ISSUER"])
                          if values.get("CLERK_ISSUER") else None),
            clerk_authorized_parties=(parse_origins(values["CLERK_AUTHORIZED_PARTIES"])
                                      if values.get("CLERK_AUTHORIZED_PARTIES") else ()),
            api_docs=parse_bool(values["API_DOCS"]) if values.get("API_DOCS")
            else parse_environment(values["JOBNAUT_ENV"]) != Environment.production,
            metrics_token=values.get("METRICS_TOKEN") or None,
            jsearch_api_url=values.get("JSEARCH_API_URL") or None,
            jsearch_api_key=values.get("JSEARCH_API_KEY") or None,
            release=values.get("JOBNAUT_RELEASE", "dev"),
            commit=values.get("JOBNAUT_COMMIT", "unknown"),
            smtp_url=values.get("SMTP_URL") or None,
            mail_from=values.get("MAIL_FROM") or "status@jobnaut.invalid",
            public_url=(values.get("PUBLIC_URL") or "http://127.0.0.1:8080").rstrip("/"),
        )


@dataclass(frozen=True)
class FrontendSettings:
    api_base_url: str
    environment: Environment
    port: int
    release: str
    commit: str
    api_timeout: float = 5.0
    secure_cookies: bool = False
    status_file: Path | None = None  # the status data the control plane publishes

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FrontendSettings:
        values = effective_environment(env)
        _raise_on_problems(check_variables(values, "frontend"))
        return cls(
            api_base_url=parse_http_url(values["API_BASE_URL"]),
            environment=parse_environment(values["JOBNAUT_ENV"]),
            port=parse_port(values.get("PORT") or "8080"),
            release=values.get("JOBNAUT_RELEASE", "dev"),
            commit=values.get("JOBNAUT_COMMIT", "unknown"),
            api_timeout=parse_timeout(values.get("API_TIMEOUT_SECONDS") or "5"),
            # Production is served over HTTPS; staging may be too, and says so.
            secure_cookies=parse_bool(values["SECURE_COOKIES"]) if values.get("SECURE_COOKIES")
            else parse_environment(values["JOBNAUT_ENV"]) == Environment.production,
            status_file=Path(values["JOBNAUT_STATUS_FILE"])
            if values.get("JOBNAUT_STATUS_FILE") else None,
        )


def _raise_on_problems(results: list[CheckResult]) -> None:
    problems = [f"{r.name}: {r.reason}" for r in results if not r.ok]
    if problems:
        raise ConfigError(problems)


def redact(name: str, value: str) -> str:
    """What may be shown of a configuration value: secrets masked, URLs without passwords."""
    if name == "DATABASE_URL":
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            return "****"
        hidden = {k: "****" for k in url.query if "password" in k.lower()}
        return url.update_query_dict(hidden).render_as_string(hide_password=True)
    if name in SECRET_KEYS or _looks_secret(name):
        return "****" if value else ""
    return value


def _looks_secret(name: str) -> bool:
    """An unknown key (kept from an old snapshot) that is named like a secret. Only its own
    value is hidden on display; it is never used to mask other output."""
    return name not in SETTINGS and any(
        word in name for word in ("SECRET", "KEY", "PASSWORD", "TOKEN"))
