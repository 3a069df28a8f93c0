"""The search structures that migration 0022 keeps outside the model metadata, by dialect: on
SQLite an FTS5 table per kind (and the shadow tables FTS5 makes for it) over a view of the
table, with an fts5vocab table of its terms, kept in step by triggers; on PostgreSQL a GIN
trigram index per searched column. Autogenerate and the migration tests leave these names alone
(`is_search_object`)."""

from __future__ import annotations

from supervise.textsearch import fts_table, fts_terms

# The searched tables and their indexed text columns (migration 0022 has its own copy).
TABLES = ("findings", "referrals", "rectifications")
COLUMNS = ("title", "facts")

FTS_TABLES = {table: fts_table(table) for table in TABLES}
FTS_SHADOWS = ("data", "idx", "docsize", "config", "content", "terms")
FTS_TERMS = {table: fts_terms(table) for table in TABLES}  # fts5vocab
FTS_SOURCES = {table: f"{fts}_source" for table, fts in FTS_TABLES.items()}  # views
TRIGGERS = tuple(f"{fts}_{event}" for fts in FTS_TABLES.values()
                 for event in ("insert", "delete", "update"))
TRGM_INDEXES = tuple(f"ix_{table}_{column}_trgm" for table in TABLES for column in COLUMNS)


def is_search_table(name: str) -> bool:
    return any(name == fts or name.startswith(fts + "_") and name[len(fts) + 1:] in FTS_SHADOWS
               for fts in FTS_TABLES.values())


def is_search_object(name: str | None, type_: str) -> bool:
    """Alembic's include_name, negated: a table or index of the search structures."""
    if name is None:
        return False
    if type_ == "table":
        return is_search_table(name)
    if type_ == "index":
        return name in TRGM_INDEXES
    return False
