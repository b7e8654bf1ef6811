"""``[http] write-workers`` (kapacitord-tw's extension): -1, the default,
one parse worker per CPU; 0, bodies parsed in the daemon; from the file and
from ``KAPACITOR_HTTP_WRITE_WORKERS``."""

import os

import attrs
import pytest

from kapacitord_tw.config import loader, model
from kapacitord_tw.config.render import render_toml
from kapacitord_tw.ingest.parsing import DaemonParser
from kapacitord_tw.ingest.pool import ParsePool, worker_count
from kapacitord_tw.service import build_writes


def test_default_is_one_worker_per_cpu_but_one(monkeypatch):
    assert model.HTTPConfig().write_workers == -1
    for cpus, workers in ((None, 1), (1, 1), (2, 1), (8, 7)):
        monkeypatch.setattr(os, "cpu_count", lambda cpus=cpus: cpus)
        assert worker_count(-1) == workers
    assert worker_count(0) == 0 and worker_count(3) == 3


def test_file_and_environment_set_it():
    config = loader.parse_text("[http]\n  write-workers = 0\n", model.builtin_config()).config
    assert config.http.write_workers == 0
    loaded = loader.apply_env(model.builtin_config(), {"KAPACITOR_HTTP_WRITE_WORKERS": "3"})
    assert loaded.warnings == ()
    assert loaded.config.http.write_workers == 3


def test_below_minus_one_is_refused():
    config = model.demo_config("/home/k")
    config = attrs.evolve(config, http=attrs.evolve(config.http, write_workers=-2))
    with pytest.raises(loader.ValidationError) as err:
        loader.validate(config)
    assert str(err.value) == ("http: write-workers must be -1 (one per CPU but one), 0 (parse in the "
                              "daemon) or a number of processes, got -2")


def test_kapacitord_config_prints_it():
    assert "  write-workers = -1\n" in render_toml(model.demo_config("/home/k"))


@pytest.mark.parametrize("workers, pool_size", [(0, None), (2, 2), (-1, max(1, (os.cpu_count() or 1) - 1))])
def test_the_daemon_builds_the_pool_it_is_told_to(workers, pool_size):
    from twisted.internet import reactor

    config = model.demo_config("/home/k")
    config = attrs.evolve(config, http=attrs.evolve(config.http, write_workers=workers))
    writes, pool = build_writes(config, reactor, bus=None, stats=None)
    if pool_size is None:
        assert pool is None and isinstance(writes.parser, DaemonParser)
    else:
        assert isinstance(pool, ParsePool) and writes.parser is pool
        assert pool.size == pool_size and not pool.running  # started by make_service
