"""API keys: `sw_live_<id>_<secret>`. The id is public (listed, logged); only a sha256 of the
secret is stored, compared in constant time.

One table of keys serves all three services: it lives in the ingest database (ingest's
migrations own it) and the story and notify services read it there, so each service checks a
key with one primary-key read and no call to another service. A `subscriptions` key is bound
to one notify subscriber (`subscriber_id`)."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, Column, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Field, Session, SQLModel, col, select

from shared.db import UTCDateTime as TZ
from shared.db import utcnow

PREFIX = "sw_live_"
SCOPES = ("read", "ingest", "subscriptions", "admin")


@dataclass(frozen=True)
class NewKey:
    id: str
    token: str  # shown once
    secret_hash: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key() -> NewKey:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id, f"{PREFIX}{key_id}_{secret}", hash_secret(secret))


def parse_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    if not token.startswith(PREFIX):
        return None
    key_id, sep, secret = token.removeprefix(PREFIX).partition("_")
    if not (sep and key_id and secret) or len(key_id) > 16:
        return None
    return key_id, secret


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), secret_hash)


def scope_problem(scopes: list[str], subscriber_id: str | None) -> str | None:
    """Why a key with these scopes cannot be made, or None."""
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        return f"unknown scope(s): {', '.join(sorted(unknown))}"
    if ("subscriptions" in scopes) != (subscriber_id is not None):
        return "a subscriptions key needs --subscriber, and only a subscriptions key takes one"
    return None


# -- the table ------------------------------------------------------------------------------------


class ApiKey(SQLModel, table=True):
    """An API key: only the sha256 of its secret part is kept."""

    __tablename__ = "ingest_api_keys"

    id: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=200)
    scopes: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret_hash: str = Field(max_length=64)
    subscriber_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    revoked_at: datetime | None = Field(default=None, sa_type=TZ)


@dataclass(frozen=True)
class KeyRecord:
    """What a valid key may do: its id, scopes and, for `subscriptions`, its subscriber."""

    id: str
    scopes: frozenset[str]
    subscriber_id: str | None = None


def create_key(engine: Engine, name: str, scopes: list[str],
               subscriber_id: str | None = None) -> tuple[ApiKey, str]:
    """A new key and its token (the only time the token exists outside the caller)."""
    made = new_key()
    key = ApiKey(id=made.id, name=name, scopes=sorted(set(scopes)), secret_hash=made.secret_hash,
                 subscriber_id=subscriber_id)
    with Session(engine, expire_on_commit=False) as session:
        session.add(key)
        session.commit()
    return key, made.token


def list_keys(engine: Engine) -> list[ApiKey]:
    with Session(engine) as session:
        return list(session.exec(select(ApiKey).order_by(col(ApiKey.created_at))))


def revoke_key(engine: Engine, key_id: str) -> ApiKey | None:
    with Session(engine, expire_on_commit=False) as session:
        key = session.get(ApiKey, key_id)
        if key and key.revoked_at is None:
            key.revoked_at = utcnow()
            session.add(key)
            session.commit()
        return key


class KeysUnavailable(Exception):
    """The keys database cannot be reached (refused, gone, dropped mid-query): no key can be
    checked for now. The message names only the kind of error, never the database's URL."""


def _no_table(exc: Exception) -> bool:
    """A database without the keys table (not migrated for ingest) holds no key; any other
    error is raised."""
    text = str(exc).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def _unreachable(exc: DBAPIError) -> bool:
    """An error of the connection rather than of the query: the database refused or dropped
    it, or the driver found it closed."""
    return isinstance(exc, (OperationalError, InterfaceError)) or exc.connection_invalidated


def _read(engine: Engine, query):
    """`query(session)` on the keys database: None where there is no keys table,
    KeysUnavailable where the database cannot be reached; any other error is raised."""
    try:
        with Session(engine) as session:
            return query(session)
    except DBAPIError as exc:
        if _no_table(exc):
            return None
        if _unreachable(exc):
            raise KeysUnavailable(type(exc.orig or exc).__name__) from None
        raise


def find_key(engine: Engine, token: str) -> KeyRecord | None:
    """The valid, unrevoked key a token names, else None."""
    parsed = parse_token(token)
    if parsed is None:
        return None
    key = _read(engine, lambda session: session.get(ApiKey, parsed[0]))
    if key is None or key.revoked_at is not None:
        return None
    if not secret_matches(parsed[1], key.secret_hash):
        return None
    return KeyRecord(key.id, frozenset(key.scopes), key.subscriber_id)


def keys_exist(engine: Engine) -> bool:
    return _read(engine, lambda session: session.exec(select(ApiKey.id).limit(1)).first()) \
        is not None
