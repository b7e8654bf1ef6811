"""The shipped systemd unit leaves room for ``[http] max-connections``
(issue #10 item 4a: systemd's default soft limit of 1024 descriptors ran
out before any limit of ours did)."""

import configparser
import pathlib

from kapacitord_tw.config.model import HTTPConfig

UNIT = pathlib.Path(__file__).resolve().parents[2] / "systemd" / "kapacitord.service"


def test_unit_raises_the_descriptor_limit_above_max_connections():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(UNIT)
    limit = int(unit["Service"]["LimitNOFILE"])
    assert limit == 65536
    assert limit > HTTPConfig().max_connections + 1024
