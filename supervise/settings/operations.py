"""The security administrator's settings and categories."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import g
from flask_babel import gettext as _

from supervise.accounts.models import User
from supervise.database import now_utc
from supervise.errors import InvalidInput, OperationError
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.money import whole_number
from supervise.settings.models import DEFINITIONS, Category, Setting, get_setting

CATEGORY_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def set_setting(user: User, key: str, raw) -> bool:
    """Store a new value; returns whether it changed."""
    definition = DEFINITIONS.get(key)
    if definition is None:
        raise OperationError(_("Unknown setting."), 404)
    try:
        value = whole_number(raw)
    except ValueError:
        raise InvalidInput({key: _("Enter a whole number.")}) from None
    if not definition.minimum <= value <= definition.maximum:
        raise InvalidInput({key: _("Enter a number from %(min)d to %(max)d.",
                                   min=definition.minimum, max=definition.maximum)})
    old = get_setting(key)
    if old == value:
        return False
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    row.value = value
    row.updated_at = now_utc()
    row.updated_by_id = user.id
    g.pop("settings_cache", None)
    db.session.flush()
    record_event("settings.change", actor=user, object_type="settings", object_id=key,
                 details={"from": old, "to": value})
    return True


def create_category(user: User, code: str, name: str, name_en: str) -> Category:
    code = (code or "").strip().lower()
    errors = {}
    if not CATEGORY_CODE.match(code):
        errors["code"] = _("2–40 lower-case letters, digits or underscores, starting with a "
                           "letter.")
    elif db.session.get(Category, code) is not None:
        errors["code"] = _("A category with this code already exists.")
    name, name_en = (name or "").strip(), (name_en or "").strip()
    if not name or len(name) > 50:
        errors["name"] = _("Required, at most %(n)d characters.", n=50)
    if not name_en or len(name_en) > 80:
        errors["name_en"] = _("Required, at most %(n)d characters.", n=80)
    if errors:
        raise InvalidInput(errors)
    position = (db.session.scalar(sa.select(sa.func.max(Category.position))) or 0) + 10
    category = Category(code=code, name=name, name_en=name_en, position=position, active=True)
    db.session.add(category)
    db.session.flush()
    record_event("category.create", actor=user, object_type="categories", object_id=code,
                 details={"name": name, "name_en": name_en})
    return category


def set_category_active(user: User, category: Category, active: bool) -> None:
    if category.active == active:
        return
    category.active = active
    db.session.flush()
    record_event("category.enable" if active else "category.disable", actor=user,
                 object_type="categories", object_id=category.code)
