"""The config-override API (``/kapacitor/v1/config``) and the live service configuration."""

from kapacitord_tw.configapi.api import ConfigAPI
from kapacitord_tw.configapi.live import ServiceConfigs
from kapacitord_tw.configapi.overrides import Override, OverrideError, OverrideStore

__all__ = ["ConfigAPI", "ServiceConfigs", "Override", "OverrideError", "OverrideStore"]
