"""The rectifications' district and its API callers, for every module here that does not build
a district of its own."""

from __future__ import annotations

import pytest

from tests.rectifications.factories import make_world
from tests.support.api import callers


@pytest.fixture
def world(client):
    """The referrals' district with a second audited unit (factories.make_world)."""
    return make_world(client)


@pytest.fixture
def as_(world):
    """as_("unit_contact") -> a Caller for that user; its list() and ids() read /rectifications."""
    return callers(world, listing="/rectifications")
