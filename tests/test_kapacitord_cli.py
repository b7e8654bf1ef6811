"""
The ``kapacitord`` command line: sub-commands, Go-style flags, exit
statuses and the messages of reference §4.5, §4.7–§4.9.

Most cases call ``main(argv, environ)`` in-process (it fails before the
reactor starts); the cases a user meets first run the real command.
"""

import os
import tomllib

import pytest

from kapacitord_tw import __version__
from kapacitord_tw.cli.kapacitord import main
from tests.support.daemon import Daemon, free_port, run_kapacitord

HINT = "To generate a valid configuration file run `kapacitord config > kapacitor.generated.conf`."


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home


def kapacitord(capsys, home, *argv, **env):
    """(exit status, stdout, stderr) of an in-process ``kapacitord`` call."""
    environ = {"HOME": str(home), **env}
    status = main(list(argv), environ)
    out, err = capsys.readouterr()
    return status, out, err


def conf(tmp_path, text, name="k.conf"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# ------------------------------------------------------------ config command

def test_config_output_is_stable_and_accepted_by_run(tmp_path, home):
    port = free_port()
    env = {"KAPACITOR_HTTP_BIND_ADDRESS": f"127.0.0.1:{port}"}
    first = run_kapacitord(["config"], env=env, home=home)
    assert first.returncode == 0, first.stderr
    generated = tmp_path / "kapacitor.generated.conf"
    generated.write_text(first.stdout)

    second = run_kapacitord(["config", "-config", generated], home=home)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert f"Merging with configuration at: {generated}" in second.stderr

    daemon = Daemon(str(generated), port, env={"HOME": str(home)})
    with daemon:
        status, _headers, _body = daemon.request("GET", "/kapacitor/v1/ping")
        assert status == 204
        assert daemon.stop() == 0


def test_config_prints_demo_defaults_under_home(capsys, home):
    status, out, err = kapacitord(capsys, home, "config", "-config", os.devnull)
    assert status == 0, err
    data = tomllib.loads(out)
    assert data["data_dir"] == str(home / ".kapacitor")
    assert data["storage"]["boltdb"] == str(home / ".kapacitor" / "kapacitor.db")
    assert data["http"]["bind-address"] == ":9092"
    assert data["http"]["shutdown-timeout"] == "10s"
    assert out.endswith("\n\n")


def test_config_applies_env_then_hostname_flag(capsys, home):
    status, out, err = kapacitord(
        capsys, home, "config", "-hostname", "flag-host",
        KAPACITOR_HOSTNAME="env-host", KAPACITOR_AUTH_BCRYPT_COST="0x0c",
        KAPACITOR_HTTP_SHUTDOWN_TIMEOUT="1h30m",
    )
    assert status == 0, err
    data = tomllib.loads(out)
    assert data["hostname"] == "flag-host"
    assert data["auth"]["bcrypt-cost"] == 12
    assert data["http"]["shutdown-timeout"] == "1h30m0s"


def test_config_finds_the_file_in_kapacitor_config_path(capsys, tmp_path, home):
    path = conf(tmp_path, 'hostname = "from-env-path"\n')
    status, out, err = kapacitord(capsys, home, "config", KAPACITOR_CONFIG_PATH=path)
    assert status == 0, err
    assert tomllib.loads(out)["hostname"] == "from-env-path"
    assert f"Merging with configuration at: {path}" in err


def test_config_finds_home_kapacitor_conf(capsys, home):
    (home / ".kapacitor").mkdir()
    (home / ".kapacitor" / "kapacitor.conf").write_text('hostname = "from-home"\n')
    status, out, err = kapacitord(capsys, home, "config")
    assert status == 0, err
    assert tomllib.loads(out)["hostname"] == "from-home"


def test_config_dev_null_ignores_kapacitor_config_path(capsys, tmp_path, home):
    path = conf(tmp_path, 'hostname = "from-env-path"\n')
    status, out, err = kapacitord(capsys, home, "config", "-config", os.devnull,
                                  KAPACITOR_CONFIG_PATH=path)
    assert status == 0, err
    assert tomllib.loads(out)["hostname"] == "localhost"
    assert "Merging" not in err


@pytest.mark.parametrize("form", [["-config={}"], ["--config", "{}"], ["--config={}"]])
def test_go_flag_forms_are_accepted(capsys, tmp_path, home, form):
    path = conf(tmp_path, 'hostname = "h-form"\n')
    status, out, err = kapacitord(capsys, home, "config", *[f.format(path) for f in form])
    assert status == 0, err
    assert tomllib.loads(out)["hostname"] == "h-form"


def test_config_warns_on_stderr_about_unknown_keys_and_variables(capsys, tmp_path, home):
    path = conf(tmp_path, '[http]\n  bind = ":1"\n[auth]\n  bcrypt = 4\n')
    status, out, err = kapacitord(capsys, home, "config", "-config", path,
                                  KAPACITOR_AUTH_BCRYPTCOST="4")
    assert status == 0, err
    assert "warning: unknown configuration key [http] bind ignored\n" in err
    assert "warning: unknown configuration key [auth] bcrypt ignored\n" in err
    assert ("warning: environment variable KAPACITOR_AUTH_BCRYPTCOST ignored: "
            "it names no configuration key\n") in err
    assert "warning" not in out


def test_docs_env_only_setup_works_with_the_bcrypt_alias(capsys, home):
    env = {"KAPACITOR_HTTP_AUTH_ENABLED": "true", "KAPACITOR_AUTH_ENABLED": "true"}
    status, _out, err = kapacitord(capsys, home, "config", **env)
    assert status == 1
    assert err == f"config: auth: must provide a bcrypt cost >= 4, got 0. {HINT}\n"
    status, out, err = kapacitord(capsys, home, "config", KAPACITOR_AUTH_BCRYPT="4", **env)
    assert status == 0, err
    assert tomllib.loads(out)["auth"]["bcrypt-cost"] == 4


def test_config_validation_error_has_no_invalid_configuration_prefix(capsys, tmp_path, home):
    path = conf(tmp_path, 'hostname = ""\n')
    status, out, err = kapacitord(capsys, home, "config", "-config", path)
    assert status == 1
    assert out == ""
    assert err.endswith(f"config: must configure valid hostname. {HINT}\n")


# --------------------------------------------------------------- run errors

def test_run_env_bool_error_exits_1_with_kapacitor_message(home):
    result = run_kapacitord(["-config", os.devnull], env={"KAPACITOR_HTTP_AUTH_ENABLED": "yes"},
                            home=home)
    assert result.returncode == 1
    assert result.stderr.endswith(
        "run: apply env config: failed to apply KAPACITOR_HTTP_AUTH_ENABLED to AuthEnabled "
        "using type bool and value 'yes'\n"
    )


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("KAPACITOR_AUTH_BCRYPT_COST", "ten",
         "failed to apply KAPACITOR_AUTH_BCRYPT_COST to BcryptCost using type int and value 'ten'"),
        ("KAPACITOR_HTTP_SHUTDOWN_TIMEOUT", "x",
         'failed to unmarshal env var: time: invalid duration "x"'),
    ],
)
def test_run_env_errors(capsys, home, variable, value, message):
    status, _out, err = kapacitord(capsys, home, "run", **{variable: value})
    assert status == 1
    assert err == f"run: apply env config: {message}\n"


@pytest.mark.parametrize(
    "text, env, message",
    [
        ('hostname = "h"\n', {}, "must configure valid data dir"),
        ('data_dir = "{d}"\n[auth]\nenabled = true\n', {},
         "auth: must provide a bcrypt cost >= 4, got 0"),
        ('data_dir = "{d}"\n[auth]\nenabled = true\nbcrypt-cost = 32\n', {},
         "auth: must provide a bcrypt cost <= 31, got 32"),
        ('data_dir = "{d}"\n[storage]\nboltdb = ""\n', {},
         "storage: must specify storage 'boltdb' path"),
        ('data_dir = "{d}"\n[http]\nbind-address = "localhost"\n', {},
         "http: invalid http bind address localhost: address localhost: missing port in address"),
        ('data_dir = "{d}"\n', {"KAPACITOR_HTTP_BIND_ADDRESS": ":http"},
         'http: invalid http bind address port http: strconv.ParseInt: parsing "http": '
         "invalid syntax"),
        ('data_dir = "{d}"\n', {"KAPACITOR_HTTP_BIND_ADDRESS": ":70000"},
         "http: invalid http bind address port 70000: out of range"),
        ('data_dir = "{d}"\n[tls]\nmin-version = "tls1.0"\n', {},
         'tls: deprecated tls version: "tls1.0". available versions: TLS1.1, TLS1.2, TLS1.3'),
        ('data_dir = "{d}"\n[tls]\nmax-version = "tls2"\n', {},
         'tls: unknown tls version: "tls2". available versions: TLS1.1, TLS1.2, TLS1.3'),
    ],
)
def test_run_validation_errors_exit_1_with_the_generate_hint(capsys, tmp_path, home, text, env,
                                                            message):
    path = conf(tmp_path, text.format(d=tmp_path / "data"))
    status, _out, err = kapacitord(capsys, home, "-config", path, **env)
    assert status == 1
    assert err == f"run: create server: invalid configuration: {message}. {HINT}\n"
    assert not (tmp_path / "data").exists()


def test_run_empty_port_is_rejected(capsys, tmp_path, home):
    path = conf(tmp_path, f'data_dir = "{tmp_path}"\n[http]\nbind-address = "127.0.0.1:"\n')
    status, _out, err = kapacitord(capsys, home, "-config", path)
    assert status == 1
    assert err.startswith("run: create server: invalid configuration: http: invalid http "
                          "bind address 127.0.0.1:: missing port number")


def test_run_docs_colon_syntax_names_line_and_suggests_equals(tmp_path, home):
    path = conf(tmp_path, '[http]\n  auth-enabled: true\n')
    result = run_kapacitord(["-config", path], home=home)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"run: parse config: {path}: line 2: 'auth-enabled: true' is not valid TOML"
    )
    assert "write auth-enabled = true" in result.stderr


def test_run_missing_config_file(capsys, tmp_path, home):
    path = str(tmp_path / "missing.conf")
    status, _out, err = kapacitord(capsys, home, "run", "-config", path)
    assert status == 1
    assert err == f"run: parse config: open {path}: no such file or directory\n"


# ------------------------------------------------- version, help, bad input

def test_version(capsys, home):
    status, out, _err = kapacitord(capsys, home, "version")
    assert status == 0
    assert out.startswith(f"Kapacitor OSS version {__version__} (git: ")
    assert out.endswith(")\n")


@pytest.mark.parametrize("argv", [["help"], ["-h"], ["-help"], ["help", "version"]])
def test_help_lists_the_commands_and_exits_0(capsys, home, argv):
    status, out, _err = kapacitord(capsys, home, *argv)
    assert status == 0
    for command in ("config", "help", "run", "version"):
        assert f"\n    {command} " in out


@pytest.mark.parametrize("argv, command", [(["help", "run"], "run"), (["run", "-h"], "run"),
                                           (["help", "config"], "config"),
                                           (["config", "--help"], "config")])
def test_command_help_prints_usage_and_exits_1(capsys, home, argv, command):
    status, _out, err = kapacitord(capsys, home, *argv)
    assert status == 1
    assert f"Usage: kapacitord {command}" in err
    assert "-config <path>" in err
    assert err.endswith(f"{command}: flag: help requested\n")


def test_help_run_subprocess_exit_status(home):
    result = run_kapacitord(["help", "run"], home=home)
    assert result.returncode == 1
    assert "-pidfile <path>" in result.stderr
    assert result.stderr.endswith("run: flag: help requested\n")


def test_unknown_command(home):
    result = run_kapacitord(["x"], home=home)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "unknown command \"x\"\nRun 'kapacitord help' for usage\n"


def test_unknown_flag(home):
    result = run_kapacitord(["-x"], home=home)
    assert result.returncode == 1
    assert result.stderr.endswith("run: flag provided but not defined: -x\n")
    assert "Usage: kapacitord run" in result.stderr


@pytest.mark.parametrize("argv, message", [
    (["config", "-pidfile", "p"], "config: flag provided but not defined: -pidfile"),
    (["run", "-config"], "run: flag needs an argument: -config"),
    (["run", "---config", "x"], "run: bad flag syntax: ---config"),
])
def test_flag_errors(capsys, home, argv, message):
    status, _out, err = kapacitord(capsys, home, *argv)
    assert status == 1
    assert err.endswith(message + "\n")
