"""Configuration: one `settings` object, read from STORYWIRE_* environment variables.

The defaults are the embedded mode: one SQLite file under ./.storywire/, an in-memory Celery
broker served by an in-process worker, and all three services in one process.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
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

    api_key: SecretStr | None = None

    relay_interval: float = 0.5
    relay_batch: int = 50
    dispatch_interval: float = 1.0
    dispatch_batch: int = 200
    webhook_timeout: float = 5.0
    delivery_max_attempts: int = 7
    allow_private_urls: bool = False

    max_article_bytes: int = 1_000_000
    log_level: str = "INFO"

    def service_database_url(self, service: str) -> str:
        """The database of one service; in the embedded default all share one SQLite file."""
        own = getattr(self, f"{service}_database_url")
        if own:
            return own
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'storywire.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
