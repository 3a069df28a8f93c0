"""Pagination for list pages: one query for the rows and one for the count, whatever the size."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

import sqlalchemy as sa
from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l

from supervise.extensions import db
from supervise.money import whole_number
from supervise.web import BadInput

# Far beyond any real list, and small enough that the offset fits every database's integer.
MAX_PAGE = 1_000_000


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int
    more: bool = False  # counting stopped at `total`: there are more

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        if self.more:
            return len(self.items) == self.per_page
        return self.page < self.pages


def count(query: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None)
                                                                    .subquery()))


def count_at_most(query: sa.Select, bound: int) -> tuple[int, bool]:
    """How many rows, counting no further than `bound` (and whether there are more): a long
    log's count costs what a page of it costs."""
    found = count(query.limit(bound + 1))
    return min(found, bound), found > bound


def page_number() -> int:
    """The page a list page was asked for: ASCII digits from 1 to MAX_PAGE, else a 400."""
    try:
        page = whole_number(request.args.get("page", "1"))
    except ValueError:
        page = 0
    if not 1 <= page <= MAX_PAGE:
        raise BadInput(_l("The page number must be a whole number from 1 to %(max)d.",
                          max=MAX_PAGE))
    return page


def paginate(query: sa.Select, per_page: int | None = None, total: int | None = None,
             bound: int | None = None) -> Page:
    """A page of the query's rows; `total`: its count, when the caller has counted already;
    `bound`: count no further than that."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    page = page_number()
    more = False
    if total is None:
        total, more = count_at_most(query, bound) if bound else (count(query), False)
    items = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, page=page, per_page=per_page, total=total, more=more)


def page_url(number: int) -> str:
    """The current page's URL with its filters kept and another page number."""
    from supervise.i18n import combine_args

    args = combine_args(request.args.to_dict(), page=number)
    return url_for(request.endpoint, **(request.view_args or {}), **args)
