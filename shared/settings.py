"""Configuration: one `settings` object, read from STORYWIRE_* environment variables.

The defaults are the embedded mode: one SQLite file under ./.storywire/, an in-memory Celery
broker served by an in-process worker, and all three services in one process.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORYWIRE_", extra="ignore")

    data_dir: Path = Path(".storywire")
    database_url: str | None = None
    ingest_database_url: str | None = None
    story_database_url: str | None = None
    notify_database_url: str | None = None

    broker_url: str = "memory://localhost/"
    story_url: str = "http://127.0.0.1:8002"
    public_url: str = "http://127.0.0.1:8002"
    # where the desk (in the story service) reaches the ingest and notify APIs; `storywire
    # status` asks these three for /readyz and /metrics
    ingest_url: str = "http://127.0.0.1:8001"
    notify_url: str = "http://127.0.0.1:8003"
    # where `storywire status` reads a worker's /metrics (unset: 127.0.0.1:WORKER_METRICS_PORT)
    worker_url: str | None = None
    # seconds `storywire status` waits for each service's answer (a /readyz whose broker is
    # away takes about 2)
    status_timeout: float = 5.0

    api_key: SecretStr | None = None
    keys_database_url: str | None = None  # the API keys table; default: the ingest database
    rate_limit_window: float = 60.0  # seconds of the sliding window of every rate limit
    ingest_rate_limit: int = 1200  # article requests a key may send per window (0: no limit)
    subscription_rate_limit: int = 120  # subscription writes a key may make per window
    webhook_rate_limit: int = 600  # signed webhooks an integration may send per window

    relay_interval: float = 0.5
    relay_batch: int = 50  # articles forwarded to the story service in one request
    relay_batch_bytes: int = 4_000_000  # ...and at most this much body text (or one article)
    relay_max_tries: int = 5  # refusals by a ready story service before an article is parked
    story_writers: int = 1  # processes analysing articles, each for a share of the stories
    # story shards shared by several story-service instances on one PostgreSQL (1: one
    # instance writes every story, as without sharding); an instance writes the stories of
    # the shards it holds a lease on
    story_shards: int = 1
    story_instance_url: str | None = None  # where the other instances reach this one
    story_lease_seconds: float = 10.0  # a lease whose instance is silent this long ends
    dispatch_interval: float = 1.0
    wakeups: bool = True  # wake the relay and the dispatcher on new work (else they only poll)
    dispatch_batch: int = 200
    webhook_timeout: float = 5.0
    webhook_concurrency: int = 10  # sends under way at once to one endpoint, per worker process
    delivery_max_attempts: int = 7
    allow_private_urls: bool = False

    max_article_bytes: int = 1_000_000
    log_level: str = "INFO"
    worker_metrics_port: int = 8004  # where `storywire worker` serves /metrics (0: nowhere)
    otlp_endpoint: str | None = None  # traces go there over OTLP/HTTP (unset: no tracing)
    # unset: JSON lines for serve, worker and beat when stderr is not a terminal, else plain
    log_format: Literal["json", "console"] | None = None

    # ingest
    feed_poll_tick: float = 60.0  # how often beat looks for due feeds, seconds
    feed_timeout: float = 10.0  # seconds per feed or page request
    batch_max_bytes: int = 10_000_000  # request size limit for POST /v1/articles:batch

    # notify
    notify_public_url: str = "http://127.0.0.1:8003"
    signing_key: SecretStr | None = None
    secret_grace_hours: float = 24.0
    delivery_claim_seconds: int = 120
    sweep_interval: float = 30.0
    disable_after_hours: float = 72.0
    slack_interval: float = 1.0
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "storywire <alerts@storywire.invalid>"
    smtp_timeout: float = 10.0

    @field_validator("ingest_url", "notify_url", "worker_url", "story_instance_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not _is_http_url(value):
            raise ValueError("not an http:// or https:// URL with a host")
        return value

    @field_validator("story_url")
    @classmethod
    def _http_urls(cls, value: str) -> str:
        """One URL, or several separated by commas (instances the relay fails over between)."""
        if not all(_is_http_url(url.strip()) for url in value.split(",")):
            raise ValueError("not http:// or https:// URLs with a host, separated by commas")
        return value

    @field_validator("story_shards")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("status_timeout", "story_lease_seconds")
    @classmethod
    def _positive(cls, value: float) -> float:
        if not value > 0:
            raise ValueError("must be above 0")
        return value

    def service_database_url(self, service: str) -> str:
        """The database of one service; in the embedded default all share one SQLite file."""
        own = getattr(self, f"{service}_database_url")
        if own:
            return own
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'storywire.db'}"

    def story_urls(self) -> list[str]:
        """The story-service instances `STORY_URL` lists, in the order to try them."""
        return [url.strip() for url in self.story_url.split(",")]

    def keys_database(self) -> str:
        """Where every service reads the API keys: the ingest database unless set."""
        return self.keys_database_url or self.service_database_url("ingest")


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@lru_cache
def get_settings() -> Settings:
    return Settings()
