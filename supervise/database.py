"""Database conventions shared by every model: naming, UTC timestamps."""

import secrets
import sqlite3
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.functions import FunctionElement

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Beijing time: what every person reads and every legal deadline runs in. Times are stored in UTC.
BEIJING_TIME = ZoneInfo("Asia/Shanghai")
# Day numbers (`beijing_day`) count from this day.
DAY_ZERO = date(2000, 1, 1)


class beijing_day(FunctionElement):  # noqa: N801 (an SQL function, named as SQL names them)
    """The day a stored UTC moment falls on in Asia/Shanghai, as the number of days since
    DAY_ZERO: an integer computed by the database, so that figures over tens of thousands of
    moments fetch integers instead of timestamps (`DAY_ZERO + timedelta(days=n)`)."""

    type = sa.Integer()
    inherit_cache = True
    name = "beijing_day"


class beijing_month(FunctionElement):  # noqa: N801
    """The month a stored UTC moment falls in, in Asia/Shanghai, as year * 100 + month
    (202603)."""

    type = sa.Integer()
    inherit_cache = True
    name = "beijing_month"


def _sqlite_seconds(element, compiler, **kw) -> str:
    """The stored text of a moment to the second: SQLite's date functions round a fraction to
    milliseconds, which would carry 23:59:59.9996 into the next day."""
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 19)"


@compiles(beijing_day, "sqlite")
def _beijing_day_sqlite(element, compiler, **kw):
    moment = _sqlite_seconds(element, compiler, **kw)
    return (f"CAST(julianday(date({moment}, '+8 hours')) - julianday('{DAY_ZERO.isoformat()}')"
            " AS INTEGER)")


@compiles(beijing_day, "postgresql")
def _beijing_day_postgresql(element, compiler, **kw):
    moment = compiler.process(element.clauses, **kw)
    return f"((({moment}) AT TIME ZONE 'Asia/Shanghai')::date - DATE '{DAY_ZERO.isoformat()}')"


@compiles(beijing_month, "sqlite")
def _beijing_month_sqlite(element, compiler, **kw):
    moment = _sqlite_seconds(element, compiler, **kw)
    return f"CAST(strftime('%Y%m', {moment}, '+8 hours') AS INTEGER)"


@compiles(beijing_month, "postgresql")
def _beijing_month_postgresql(element, compiler, **kw):
    moment = compiler.process(element.clauses, **kw)
    return f"CAST(to_char(({moment}) AT TIME ZONE 'Asia/Shanghai', 'YYYYMM') AS INTEGER)"


def now_utc() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    PostgreSQL keeps it as timestamptz; SQLite has no time zones, so the value is stored as naive
    UTC there and given its zone back on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC time is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_column(enum_cls, name: str) -> sa.Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, stored by value."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(20, *(len(m.value) for m in enum_cls)),
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def upsert(dialect_name: str, model):
    """INSERT … ON CONFLICT for the database in use: SQLite and PostgreSQL spell it alike, and
    SQLAlchemy has it per dialect."""
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect_name](model)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def new_public_id() -> str:
    """A random, URL-safe identifier: it says nothing about how many records exist."""
    return secrets.token_urlsafe(12)


class PublicIdMixin:
    """Records addressed in URLs and the API carry a random public id beside the integer key."""

    public_id: Mapped[str] = mapped_column(sa.String(24), unique=True, default=new_public_id)


@sa.event.listens_for(Engine, "connect")
def _connection_settings(dbapi_connection, _record) -> None:
    """SQLite: enforce foreign keys, wait for the write lock instead of failing, and let readers
    run while one worker writes. PostgreSQL: no JIT compilation, which a statement of many
    aggregates (the statistics) set off by its estimated cost and then spent seconds
    compiling for a query that runs in milliseconds."""
    if type(dbapi_connection).__module__.startswith("psycopg"):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()
        return
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def contains(column, text: str):
    """`column` contains `text` literally, case-insensitively (%, _ and \\ match themselves)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
