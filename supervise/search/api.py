"""Search under /api/v1: the same results as the search page, by the same rules.

`GET /search?q=` puts the query in the URL, and so in the access logs of every proxy and server
on the way. A query can be a person's name (it finds, for the parties who may read the persons
involved, the referrals that name that person), so `POST /search` takes the same arguments in a
JSON body and keeps them out of the URL: clients should use it for names, as the search page
does.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from supervise import policy
from supervise.extensions import db
from supervise.policy import Permission
from supervise.schemas import LocalDateTime, PageQuerySchema, PageSchema
from supervise.search import engine
from supervise.search.results import present
from supervise.web import Blueprint, current_actor

blueprint = Blueprint("search_api", __name__, description="Full-text search")


class SearchQuerySchema(PageQuerySchema):
    q = fields.String(required=True, metadata={
        "minLength": engine.MIN_LENGTH, "maxLength": engine.MAX_LENGTH,
        "description": "What to search for: words of at least two characters, at most five, "
                       "separated by spaces; a record must contain every one, in its title or "
                       "its facts. Every character is literal (no operators). The whole query "
                       "also finds, as a person's exact name, the referrals naming that person "
                       "involved, for the two parties to a referral only."})


class SearchResultSchema(Schema):
    kind = fields.String(metadata={"enum": [k.value for k in engine.Kind]})
    kind_name = fields.Function(lambda r: r.kind.label)
    id = fields.String(attribute="public_id")
    title = fields.String()
    title_html = fields.Function(lambda r: str(r.title_html), metadata={
        "description": "The title, HTML-escaped, with each match in <mark>"})
    snippet_html = fields.Function(
        lambda r: str(r.snippet_html) if r.snippet_html is not None else None,
        metadata={"description": "A passage of the facts around the first match, escaped, "
                                 "matches in <mark>; null where a list does not show the facts "
                                 "(a referral, a sensitive finding): open the record"})
    matched = fields.List(fields.String(validate=validate.OneOf(["title", "facts", "person"])))
    persons_involved = fields.List(fields.String(), attribute="persons_masked", metadata={
        "description": "The persons involved the query named, masked (张**)"})
    state_name = fields.String()
    context = fields.String()
    at = LocalDateTime()
    url = fields.String(metadata={"description": "The record's page"})
    api_url = fields.String(metadata={"description": "The record in the API"})


class SearchPageSchema(PageSchema):
    q = fields.String()
    capped = fields.Boolean(metadata={
        "description": f"More than {engine.CANDIDATES} records of one kind matched: the newest "
                       f"{engine.CANDIDATES} of it are ranked; add a word to narrow the search"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    items = fields.List(fields.Nested(SearchResultSchema))


def _answer(args) -> dict:
    user = current_actor()
    query = engine.parse(args["q"])
    found = engine.search(user, query)
    db.session.commit()  # a person looked up is recorded
    page, per_page = args["page"], args["per_page"]
    hits = engine.page_of(user, found, page, per_page)
    return {"q": query.text, "page": page, "per_page": per_page, "total": found.total,
            "capped": found.capped,
            "counts": {kind.value: n for kind, n in found.counts.items()},
            "items": [present(user, hit, query) for hit in hits]}


@blueprint.route("/search", methods=["GET"])
@blueprint.arguments(SearchQuerySchema, location="query")
@blueprint.response(200, SearchPageSchema)
@policy.requires(Permission.CASE_CONTENT)
def search(args):
    """Findings, referrals and rectification items the caller may see whose title or facts
    contain every word, ranked: a person involved named first, then more words in the title,
    then the newest. The query is in the URL: send a person's name with POST instead."""
    return _answer(args)


@blueprint.route("/search", methods=["POST"])
@blueprint.arguments(SearchQuerySchema)
@blueprint.response(200, SearchPageSchema)
@policy.requires(Permission.CASE_CONTENT)
def search_by_post(args):
    """The same search with the query in the body, out of URLs and the logs that keep them."""
    return _answer(args)
