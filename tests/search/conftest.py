"""The search's district: the rectifications' (audit bureau, commission, inspection office,
organisation department, a neighbouring audit bureau, two audited units with a contact each)."""

from __future__ import annotations

import pytest

from tests.rectifications.factories import make_world
from tests.support.api import callers


@pytest.fixture
def world(client):
    return make_world(client)


@pytest.fixture
def as_(world):
    return callers(world)
