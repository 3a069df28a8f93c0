"""The search page, the results of the header's search box.

The box posts its query: a query can be a person's name, and a URL (?q=) is written into the
access logs of every server and proxy on the way, which keep it longer and more widely than the
platform keeps anything about a person involved. So the query, and the page of results, come in
the body of a POST (with the CSRF token every form carries), as the lookup by person does; GET
shows the empty form.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from supervise import policy
from supervise.errors import InvalidInput
from supervise.extensions import db
from supervise.money import whole_number
from supervise.pagination import MAX_PAGE, Page
from supervise.policy import Permission
from supervise.search import engine
from supervise.search.results import present
from supervise.web import current_actor

blueprint = Blueprint("search", __name__)

PER_PAGE = 20


def _page_number(raw) -> int | None:
    try:
        page = whole_number(raw or "1")
    except ValueError:
        return None
    return page if 1 <= page <= MAX_PAGE else None


@blueprint.route("/search", methods=["GET", "POST"])
@policy.requires(Permission.CASE_CONTENT)
def search():
    """Findings, referrals and rectification items the user may see that contain the words,
    ranked, the matches marked, each linking to its record."""
    user = current_actor()
    if request.method == "GET":
        return render_template("search/results.html", q="", errors=[], page=None, results=[],
                               found=None, kinds=list(engine.Kind),
                               candidates=engine.CANDIDATES)
    q = request.form.get("q", "")
    errors, found, results, page = [], None, [], None
    number = _page_number(request.form.get("page"))
    try:
        if number is None:
            raise InvalidInput({"page": _("The page number must be a whole number from 1 to "
                                          "%(max)d.", max=MAX_PAGE)})
        query = engine.parse(q)
    except InvalidInput as exc:
        errors = [str(message) for message in exc.errors.values()]
    else:
        found = engine.search(user, query)
        db.session.commit()  # a person looked up is recorded
        hits = engine.page_of(user, found, number, PER_PAGE)
        results = [present(user, hit, query) for hit in hits]
        page = Page(items=results, page=number, per_page=PER_PAGE, total=found.total)
        q = query.text
    return render_template("search/results.html", q=q, errors=errors, page=page,
                           results=results, found=found, kinds=list(engine.Kind),
                           candidates=engine.CANDIDATES), \
        422 if errors else 200
