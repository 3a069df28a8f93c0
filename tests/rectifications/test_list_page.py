"""The issuing agency's rectification list finds things: by unit, with how many items are in
each state (the counts follow the unit chosen)."""

from __future__ import annotations

import re

from supervise.rectifications.models import RectificationState as S
from tests.conftest import page_text
from tests.rectifications.factories import rectification_in


def _signed_in(world, username):
    client = world.client.application.test_client()
    assert client.sign_in(username).status_code == 302
    return client


def _tiles(html: str) -> dict[str, int]:
    block = html[html.index('id="rectification-states"'):html.index('id="rectification-filters"')]
    return {label.strip(): int(n) for n, label in re.findall(
        r'<span class="tile-n">(\d+)</span>([^<]+)</a>', block)}


def test_a_unit_filter_and_the_state_counts(world):
    rectification_in(world, S.NOT_STARTED, title="教育局未整改事项")
    rectification_in(world, S.IN_PROGRESS, title="教育局整改中事项")
    rectification_in(world, S.IN_PROGRESS, unit=world.health, title="卫健委整改中事项")
    rectification_in(world, S.SIGNED_OFF, unit=world.health, title="卫健委已销号事项")
    auditor = _signed_in(world, "audit.staff")

    everything = auditor.get("/rectifications").get_data(as_text=True)
    tiles = _tiles(everything)
    assert tiles["全部"] == 4 and tiles["整改中"] == 2 and tiles["已销号"] == 1
    units = everything[everything.index('name="unit"'):]
    assert "区教育局" in units and "区卫健委" in units

    health = auditor.get("/rectifications", query_string={"unit": "health"})
    text = page_text(health)
    assert "卫健委整改中事项" in text and "卫健委已销号事项" in text
    assert "教育局未整改事项" not in text
    tiles = _tiles(health.get_data(as_text=True))
    assert tiles["全部"] == 2 and tiles["整改中"] == 1 and tiles["未整改"] == 0

    one_state = auditor.get("/rectifications", query_string={"unit": "health",
                                                              "state": "in_progress"})
    assert "卫健委已销号事项" not in page_text(one_state)
    html = one_state.get_data(as_text=True)
    # "All" keeps the unit and drops the state.
    assert re.search(r'href="/rectifications\?unit=health"><span class="tile-n">2</span>', html)


def test_the_unit_contact_has_no_unit_filter(world):
    rectification_in(world, S.IN_PROGRESS, title="教育局整改中事项")
    html = _signed_in(world, "unit.contact").get("/rectifications").get_data(as_text=True)
    assert 'name="unit"' not in html and _tiles(html)["整改中"] == 1


def test_a_sign_off_without_its_step_still_waits_in_the_approvals(world, client):
    """Data from before the steps were kept: the item waits since it was issued."""
    import sqlalchemy as sa

    from supervise.extensions import db
    from supervise.rectifications.models import RectificationStep

    item = rectification_in(world, S.SIGN_OFF_PENDING)
    db.session.execute(sa.delete(RectificationStep).where(
        RectificationStep.rectification_id == item.id))
    db.session.commit()
    assert client.sign_in("audit.leader").status_code == 302
    page = client.get("/approvals")
    assert page.status_code == 200
    assert item.title in page_text(page)
