"""
``[load]``: Kapacitor's defaults, its one validation rule and message,
the ``KAPACITOR_LOAD_*`` overrides and ``kapacitord config`` output.
"""

import tomllib

import attrs
import pytest

from kapacitord_tw.cli.kapacitord import main
from kapacitord_tw.config import loader, model
from kapacitord_tw.config.render import render_toml

HINT = "To generate a valid configuration file run `kapacitord config > kapacitor.generated.conf`."


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home


def test_builtin_default_is_disabled_with_a_relative_dir():
    load = model.builtin_config().load
    assert (load.enabled, load.dir) == (False, "./load")


def test_demo_default_dir_is_under_home_kapacitor():
    assert model.demo_config("/home/k").load.dir == "/home/k/.kapacitor/load"


def test_disabled_load_with_a_relative_dir_is_valid():
    loader.validate(model.demo_config("/home/k"))
    config = attrs.evolve(model.demo_config("/home/k"), load=model.LoadConfig(dir="rel"))
    loader.validate(config)


@pytest.mark.parametrize("directory", ["./load", "load", ""])
def test_enabled_load_needs_an_absolute_dir(directory):
    config = attrs.evolve(model.demo_config("/home/k"),
                          load=model.LoadConfig(enabled=True, dir=directory))
    with pytest.raises(loader.ValidationError) as err:
        loader.validate(config)
    assert str(err.value) == "dir must be an absolute path"


def test_file_section_is_read_without_an_unsupported_warning(tmp_path):
    loaded = loader.parse_text('[load]\nenabled = true\ndir = "/etc/kapacitor/load"\n',
                               model.builtin_config())
    assert loaded.warnings == ()
    assert loaded.config.load == model.LoadConfig(enabled=True, dir="/etc/kapacitor/load")


def test_env_overrides_enable_and_point_the_load_dir():
    loaded = loader.apply_env(model.builtin_config(),
                              {"KAPACITOR_LOAD_ENABLED": "true", "KAPACITOR_LOAD_DIR": "/srv/l"})
    assert loaded.warnings == ()
    assert loaded.config.load == model.LoadConfig(enabled=True, dir="/srv/l")


def test_bad_env_bool_names_the_go_field():
    with pytest.raises(loader.EnvError) as err:
        loader.apply_env(model.builtin_config(), {"KAPACITOR_LOAD_ENABLED": "yes"})
    assert str(err.value) == (
        "failed to apply KAPACITOR_LOAD_ENABLED to Enabled using type bool and value 'yes'"
    )


def test_config_command_renders_the_load_section(capsys, home):
    status = main(["config", "-config", "/dev/null"],
                  {"HOME": str(home), "KAPACITOR_LOAD_ENABLED": "true"})
    out, err = capsys.readouterr()
    assert status == 0, err
    data = tomllib.loads(out)
    assert data["load"] == {"enabled": True, "dir": str(home / ".kapacitor" / "load")}
    assert "[load]\n  enabled = true\n" in render_toml(
        attrs.evolve(model.builtin_config(), load=model.LoadConfig(enabled=True)))


def test_run_with_a_relative_load_dir_exits_1_with_kapacitor_message(capsys, tmp_path, home):
    path = tmp_path / "k.conf"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n[load]\nenabled = true\ndir = "load"\n')
    status = main(["-config", str(path)], {"HOME": str(home)})
    _out, err = capsys.readouterr()
    assert status == 1
    assert err == f"run: create server: invalid configuration: dir must be an absolute path. {HINT}\n"
