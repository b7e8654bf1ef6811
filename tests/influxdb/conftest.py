"""Fixtures: a private influxd per test (it starts in well under a second)."""

import pytest

from tests.support.influxd import InfluxD


@pytest.fixture
def influxd(tmp_path):
    with InfluxD(tmp_path) as server:
        yield server


@pytest.fixture
def influxd_auth(tmp_path):
    with InfluxD(tmp_path, auth=True) as server:
        yield server
