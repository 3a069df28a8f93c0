"""The district of the rectification tests (the referrals' district and a second audited unit),
and API callers whose list() and ids() read /notifications."""

from __future__ import annotations

import pytest

from tests.rectifications.conftest import world  # noqa: F401  (the same district)
from tests.support.api import callers


@pytest.fixture
def as_(world):  # noqa: F811
    return callers(world, listing="/notifications")
