"""The installed ``kapacitor`` console script, run as a real process."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys

import pytest

from kapacitord_tw import __version__


def _command() -> list[str]:
    script = shutil.which("kapacitor", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the kapacitor console script is not installed next to this python")
    return [script]


def _run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")}
    return subprocess.run(
        _command() + args, input=stdin, capture_output=True, text=True, timeout=30, env=env
    )


def test_console_script_prints_the_version():
    done = _run(["version"])
    assert (done.returncode, done.stdout) == (0, "Kapacitor OSS %s (git: unknown unknown)\n" % __version__)


def test_console_script_exit_status_for_a_missing_command():
    done = _run([])
    assert done.returncode == 1
    assert done.stderr.startswith("Error: Must pass a command.\n")


def test_console_script_reads_a_piped_password(server):
    server.reply("POST", "/kapacitor/v1/users", json_body={
        "link": {"rel": "self", "href": "/kapacitor/v1/users/bob"},
        "name": "bob", "type": "normal", "permissions": [],
    })
    done = _run(["-url", server.url("admin:a%2Fb%3Ac%40d"), "user", "create", "bob"], stdin="pw for bob\n")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    request = server.requests[0]
    assert request.json()["password"] == "pw for bob"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"admin:a/b:c@d").decode()
