"""Kapacitor's configuration: model, loading, rendering, addresses and TLS."""

from kapacitord_tw.config.loader import (  # noqa: F401
    ConfigError,
    EnvError,
    Loaded,
    ParseError,
    ValidationError,
    invalid_configuration,
    load,
    validate,
)
from kapacitord_tw.config.model import Config  # noqa: F401
