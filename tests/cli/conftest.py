"""Fixtures: a canned Kapacitor server and an in-process CLI runner."""

from __future__ import annotations

import io

import attrs
import pytest

from kapacitord_tw.cli.kapacitor import run
from kapacitord_tw.cli.kapacitor.runtime import Terminal

from .fakeserver import FakeKapacitor


@attrs.frozen
class Result:
    code: int
    out: str
    err: str
    prompts: list


class CliRunner:
    """Runs ``kapacitor`` in-process against the fake server by default."""

    def __init__(self, server: FakeKapacitor):
        self.server = server

    def __call__(self, *args: str, url: str | None = None, env: dict | None = None,
                 stdin: str = "", tty: bool = False, secrets: tuple = (),
                 use_url: bool = True) -> Result:
        stdout, stderr = io.StringIO(), io.StringIO()
        prompts: list = []
        answers = list(secrets)

        def prompt_secret(prompt: str) -> str:
            prompts.append(prompt)
            if not answers:
                raise EOFError()
            return answers.pop(0)

        terminal = Terminal(
            stdout=stdout,
            stderr=stderr,
            stdin=io.StringIO(stdin),
            prompt_secret=prompt_secret,
            stdin_is_tty=lambda _stream: tty,
        )
        argv = list(args)
        if use_url:
            argv = ["-url", url or self.server.url()] + argv
        code = run(argv, environ=dict(env or {}), terminal=terminal)
        return Result(code=code, out=stdout.getvalue(), err=stderr.getvalue(), prompts=prompts)


@pytest.fixture
def server():
    fake = FakeKapacitor().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def kapacitor(server):
    return CliRunner(server)
