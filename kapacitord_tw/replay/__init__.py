"""Recordings and replays (Kapacitor's ``services/replay``): the API, the files, the runs."""

from kapacitord_tw.replay.api import ReplaysAPI
from kapacitord_tw.replay.service import ReplayService, ReplayServiceRunner

__all__ = ["ReplaysAPI", "ReplayService", "ReplayServiceRunner"]
