"""Settings the security administrator changes at run time (deadlines, upload limits, …)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import g
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from supervise.accounts.passwords import DEFAULT_POLICY, POLICY_PROVIDER, PasswordPolicy
from supervise.database import UTCDateTime, now_utc
from supervise.extensions import db


class Setting(db.Model):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


@dataclass(frozen=True)
class SettingDef:
    key: str
    label: object
    default: int
    minimum: int
    maximum: int
    unit: object = ""


# Every setting, with its default; a value is stored only once someone changes it.
DEFINITIONS = {
    d.key: d
    for d in [
        SettingDef("attachment_max_mb", _l("Largest evidence attachment"), 20, 1, 100, _l("MB")),
        SettingDef("acknowledge_working_days", _l("Referral: acknowledge within"), 3, 1, 30,
                   _l("working days")),
        SettingDef("answer_months", _l("Referral: answer within"), 3, 1, 12, _l("months")),
        SettingDef("answer_max_months", _l("Referral: answer period with extensions at most"),
                   6, 1, 24, _l("months")),
        SettingDef("due_soon_working_days", _l("Warn that a deadline is near"), 5, 1, 30,
                   _l("working days before")),
        SettingDef("escalation_chase_working_days",
                   _l("Escalation: chase automatically and tell the sender's leader when overdue "
                      "by"), 5, 1, 60, _l("working days")),
        SettingDef("escalation_leader_working_days",
                   _l("Escalation: tell the receiver's leader when overdue by"), 10, 1, 120,
                   _l("working days")),
        SettingDef("rectification_days", _l("Rectification: report within"), 60, 1, 365,
                   _l("days")),
        SettingDef("rectification_immediate_days",
                   _l("Rectification, immediate plan: report within"), 30, 1, 365, _l("days")),
        SettingDef("export_background_rows",
                   _l("Ledgers: build in the background, and notify when ready, above"),
                   5000, 0, 20000, _l("rows")),
        SettingDef("import_max_rows", _l("Import of findings: rows of one file at most"),
                   1000, 1, 20000, _l("rows")),
        SettingDef("import_max_mb", _l("Import of findings: largest file"), 5, 1, 50, _l("MB")),
        SettingDef("password_min_length", _l("Passwords: at least"),
                   DEFAULT_POLICY.min_length, 8, 64, _l("characters")),
        SettingDef("password_character_classes",
                   _l("Passwords: kinds of character needed, of the four (upper-case letters, "
                      "lower-case letters, digits, symbols)"),
                   DEFAULT_POLICY.character_classes, 1, 4),
        SettingDef("password_history", _l("Passwords: a new one may not repeat any of the last"),
                   DEFAULT_POLICY.history, 0, 24, _l("passwords, the current one included")),
        SettingDef("password_lifetime_days", _l("Passwords: expire after"),
                   DEFAULT_POLICY.lifetime_days, 0, 365, _l("days; 0: never")),
    ]
}


def get_setting(key: str) -> int:
    """The current value, read once per request."""
    cache = g.setdefault("settings_cache", {}) if g else {}
    if key not in cache:
        row = db.session.get(Setting, key)
        cache[key] = row.value if row is not None else DEFINITIONS[key].default
    return cache[key]


def password_policy() -> PasswordPolicy:
    return PasswordPolicy(min_length=get_setting("password_min_length"),
                          character_classes=get_setting("password_character_classes"),
                          history=get_setting("password_history"),
                          lifetime_days=get_setting("password_lifetime_days"))


def init_app(app) -> None:
    """The accounts package asks for its password policy here (it may not import settings)."""
    app.extensions[POLICY_PROVIDER] = password_policy


class Category(db.Model):
    """A kind of problem; seeded, and extended by the security administrator."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    name_en: Mapped[str] = mapped_column(sa.String(80))
    position: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    @property
    def label(self) -> str:
        locale = get_locale()
        return self.name_en if locale is not None and locale.language == "en" else self.name


# Seeded by migration 0002; the security administrator adds more.
DEFAULT_CATEGORIES = [
    ("allowances", "违规发放津补贴", "Improper allowances and subsidies"),
    ("three_public", "“三公”经费", '"Three public expenses"'),
    ("budget", "预算执行", "Budget execution"),
    ("procurement", "政府采购", "Government procurement"),
    ("state_assets", "国有资产", "State-owned assets"),
    ("construction", "工程建设", "Construction projects"),
    ("other", "其他", "Other"),
]
