"""
``twistd kapacitord``: options mirroring ``kapacitord run`` and
``makeService``.  Logging goes where twistd sends it (``--logfile``, or
stdout with ``-n``); everything else comes from the Kapacitor config.
"""

from __future__ import annotations

import os
import sys

from twisted.python import usage

from kapacitord_tw.config import loader as config_load


class Options(usage.Options):
    synopsis = "[kapacitord options]"
    longdesc = "Run kapacitord-tw, Kapacitor's daemon with internal authorizations."
    optParameters = [
        ["config", "c", None, "Kapacitor configuration file (TOML)."],
        ["hostname", None, None, "Override the hostname from the configuration."],
        [
            "log-level",
            None,
            None,
            "Accepted for symmetry with kapacitord; under twistd the log level and "
            "destination are twistd's (--logfile, --logger).",
        ],
        [
            "endpoint",
            None,
            None,
            "Listen on this Twisted endpoint string instead of [http] bind-address "
            "(e.g. systemd:domain=INET:index=0 for socket activation).",
        ],
    ]

    def postOptions(self):
        try:
            loaded = config_load.load(self["config"], os.environ)
        except config_load.ConfigError as e:
            raise usage.UsageError(f"parse config: {e}")
        config = config_load.apply_flags(
            loaded.config, hostname=self["hostname"], log_level=self["log-level"]
        )
        try:
            config_load.validate(config)
        except config_load.ValidationError as e:
            raise usage.UsageError(config_load.invalid_configuration(e))
        for warning in loaded.warnings:
            sys.stderr.write(f"warning: {warning}\n")
        self.loaded = loaded
        self.kapacitor_config = config


def makeService(options):
    from twisted.internet import reactor
    from twisted.internet.endpoints import serverFromString

    from kapacitord_tw.service import make_service

    endpoint = None
    if options["endpoint"]:
        endpoint = serverFromString(reactor, options["endpoint"])
    return make_service(options.kapacitor_config, reactor, endpoint=endpoint)
