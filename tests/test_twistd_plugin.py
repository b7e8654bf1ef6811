"""
``twistd kapacitord``: the plugin is found after the editable install, and
the tap runs the same daemon as ``kapacitord run``.
"""

import os
import signal
import subprocess
import sys

import pytest
from twisted.python import usage

from kapacitord_tw import __version__, tap
from tests.support.daemon import Daemon, free_port, write_config

TWISTD = os.path.join(os.path.dirname(sys.executable), "twistd")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")}
    env.update(extra)
    return env


def test_twistd_help_lists_the_kapacitord_plugin(tmp_path):
    result = subprocess.run([TWISTD, "--help"], capture_output=True, text=True, timeout=30,
                            cwd=tmp_path, env=clean_env())
    assert result.returncode == 0, result.stderr
    assert any(line.split()[:1] == ["kapacitord"] for line in result.stdout.splitlines())


def test_twistd_kapacitord_help_shows_the_config_option(tmp_path):
    result = subprocess.run([TWISTD, "kapacitord", "--help"], capture_output=True, text=True,
                            timeout=30, cwd=tmp_path, env=clean_env())
    assert result.returncode == 0, result.stderr
    assert "--config=" in result.stdout
    assert "--endpoint=" in result.stdout


def stopped_cleanly(daemon) -> bool:
    """twistd re-raises the stopping signal after a clean shutdown
    (Twisted >= 21.2), so -SIGTERM is its normal exit status."""
    status = daemon.stop()
    return status in (0, -signal.SIGTERM) and "Server Shut Down." in daemon.output()


def twistd_daemon(tmp_path, port, config, *options):
    pidfile = tmp_path / "twistd.pid"
    argv = [TWISTD, "-n", "--pidfile", str(pidfile), "kapacitord", "--config", config, *options]
    daemon = Daemon(config, port, argv=argv, cwd=str(tmp_path), env=clean_env(),
                    log_path=str(tmp_path / "twistd.out"))
    return daemon, pidfile


def test_twistd_runs_kapacitord_answers_ping_and_stops_on_sigterm(tmp_path):
    port = free_port()
    config = write_config(tmp_path / "kapacitor.conf", tmp_path / "data", port, auth=False)
    daemon, pidfile = twistd_daemon(tmp_path, port, config)
    with daemon:
        status, headers, body = daemon.request("GET", "/kapacitor/v1/ping")
        assert (status, body) == (204, b"")
        assert headers["X-Kapacitor-Version"] == __version__
        assert daemon.request("HEAD", "/kapacitor/v1/ping")[0] == 204
        assert int(pidfile.read_text().strip()) == daemon.proc.pid
        assert stopped_cleanly(daemon)
    assert not pidfile.exists()
    assert (tmp_path / "data").is_dir()


def test_twistd_endpoint_option_replaces_bind_address(tmp_path):
    config_port, endpoint_port = free_port(), free_port()
    config = write_config(tmp_path / "kapacitor.conf", tmp_path / "data", config_port,
                          auth=False)
    daemon, _pidfile = twistd_daemon(tmp_path, endpoint_port, config,
                                     "--endpoint", f"tcp:{endpoint_port}:interface=127.0.0.1")
    with daemon:
        assert daemon.request("GET", "/kapacitor/v1/ping")[0] == 204
        assert stopped_cleanly(daemon)


def test_twistd_refuses_an_invalid_configuration(tmp_path):
    config = tmp_path / "kapacitor.conf"
    config.write_text('hostname = "h"\n')
    result = subprocess.run(
        [TWISTD, "-n", "--pidfile", "", "kapacitord", "--config", str(config)],
        capture_output=True, text=True, timeout=30, cwd=tmp_path, env=clean_env(),
    )
    assert result.returncode != 0
    assert "invalid configuration: must configure valid data dir" in result.stdout + result.stderr


# ---------------------------------------------------- the tap, in-process

def test_tap_options_apply_env_and_flags_and_print_warnings(tmp_path, monkeypatch, capsys):
    config = tmp_path / "kapacitor.conf"
    config.write_text(f'data_dir = "{tmp_path}"\n[http]\n  bind = ":1"\n')
    monkeypatch.setenv("KAPACITOR_HOSTNAME", "env-host")
    monkeypatch.setenv("KAPACITOR_AUTH_BCRYPT_COST", "7")
    options = tap.Options()
    options.parseOptions(["--config", str(config), "--hostname", "flag-host",
                          "--log-level", "error"])
    assert options.kapacitor_config.hostname == "flag-host"
    assert options.kapacitor_config.auth.bcrypt_cost == 7
    assert options.kapacitor_config.logging.level == "error"
    assert "warning: unknown configuration key [http] bind ignored" in capsys.readouterr().err


def test_tap_options_report_env_errors_as_usage_errors(tmp_path, monkeypatch):
    config = tmp_path / "kapacitor.conf"
    config.write_text(f'data_dir = "{tmp_path}"\n')
    monkeypatch.setenv("KAPACITOR_HTTP_AUTH_ENABLED", "yes")
    with pytest.raises(usage.UsageError) as err:
        tap.Options().parseOptions(["--config", str(config)])
    assert "failed to apply KAPACITOR_HTTP_AUTH_ENABLED to AuthEnabled" in str(err.value)
