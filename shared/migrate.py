"""Alembic migrations, one history per service (own version table), run programmatically."""

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Engine

SERVICES = ("ingest", "story", "notify")
_ROOT = Path(__file__).resolve().parent.parent / "services"


def alembic_config(service: str, engine: Engine) -> Config:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    cfg = Config()
    cfg.set_main_option("script_location", str(_ROOT / service / "migrations"))
    cfg.set_main_option("version_table", f"alembic_version_{service}")
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(service: str, engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, engine), revision)


def downgrade(service: str, engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(service, engine), revision)


def run_env() -> None:
    """Body of every service's migrations/env.py."""
    config = context.config
    engine: Engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            version_table=config.get_main_option("version_table"),
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
