"""The rectifications' district (two audited units, 区教育局 and 区卫健委) for the dossier."""

from __future__ import annotations

import pytest

from tests.rectifications.factories import make_world


@pytest.fixture
def world(client):
    return make_world(client)
