"""
Loading the configuration: file search order, TOML on top of the right
defaults, ``KAPACITOR_*`` overrides and flags, with kapacitord's precedence
(file < env < flags) and messages (reference §4, §4.7, §4.8).
"""

import os

import pytest

from kapacitord_tw.config import loader, model

SECOND = 1_000_000_000


def write(path, text):
    path.write_text(text)
    return str(path)


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home


def home_conf(home, text):
    (home / ".kapacitor").mkdir(exist_ok=True)
    return write(home / ".kapacitor" / "kapacitor.conf", text)


# ------------------------------------------------------------ search order

def test_config_flag_wins_over_env_and_home_file(tmp_path, home):
    home_conf(home, 'hostname = "from-home"\n')
    env_file = write(tmp_path / "env.conf", 'hostname = "from-env"\n')
    flag_file = write(tmp_path / "flag.conf", 'hostname = "from-flag"\n')
    environ = {"KAPACITOR_CONFIG_PATH": env_file}
    assert loader.find_config_path(flag_file, environ, str(home)) == flag_file


def test_config_path_env_var_used_when_no_flag(tmp_path, home):
    home_conf(home, 'hostname = "from-home"\n')
    env_file = write(tmp_path / "env.conf", 'hostname = "from-env"\n')
    environ = {"KAPACITOR_CONFIG_PATH": env_file}
    assert loader.find_config_path(None, environ, str(home)) == env_file
    assert loader.find_config_path("", environ, str(home)) == env_file


def test_home_kapacitor_conf_used_when_no_flag_and_no_env(home):
    path = home_conf(home, 'hostname = "from-home"\n')
    assert loader.find_config_path(None, {"KAPACITOR_CONFIG_PATH": ""}, str(home)) == path


@pytest.mark.skipif(
    os.path.exists("/etc/kapacitor/kapacitor.conf"),
    reason="a real /etc/kapacitor/kapacitor.conf exists on this machine",
)
def test_empty_home_file_is_skipped_and_nothing_found_means_no_file(home):
    home_conf(home, "")
    assert loader.find_config_path(None, {}, str(home)) is None


def test_dev_null_flag_means_no_file_even_with_env_and_home(tmp_path, home):
    home_conf(home, 'hostname = "from-home"\n')
    env_file = write(tmp_path / "env.conf", 'hostname = "from-env"\n')
    environ = {"KAPACITOR_CONFIG_PATH": env_file}
    assert loader.find_config_path(os.devnull, environ, str(home)) is None
    loaded = loader.load(os.devnull, environ, str(home))
    assert loaded.path is None
    assert loaded.config.hostname == "localhost"


# ------------------------------------------------- built-in vs demo defaults

def test_run_with_a_file_starts_from_builtin_defaults_so_data_dir_is_required(tmp_path, home):
    path = write(tmp_path / "k.conf", 'hostname = "h1"\n')
    loaded = loader.load(path, {}, str(home))
    assert loaded.path == path
    assert loaded.config.data_dir == ""
    assert loaded.config.storage.boltdb == "./kapacitor.db"
    with pytest.raises(loader.ValidationError, match="^must configure valid data dir$"):
        loader.validate(loaded.config)


def test_run_without_a_file_uses_demo_paths_under_home(home):
    loaded = loader.load(None, {}, str(home))
    assert loaded.path is None
    config = loaded.config
    assert config.data_dir == str(home / ".kapacitor")
    assert config.storage.boltdb == str(home / ".kapacitor" / "kapacitor.db")
    loader.validate(config)


def test_config_command_merges_the_file_over_demo_defaults(tmp_path, home):
    path = write(tmp_path / "k.conf", '[http]\n  bind-address = ":9999"\n')
    loaded = loader.load(path, {}, str(home), for_config_command=True)
    assert loaded.config.http.bind_address == ":9999"
    assert loaded.config.data_dir == str(home / ".kapacitor")


def test_file_values_override_defaults_section_by_section(tmp_path, home):
    path = write(tmp_path / "k.conf", """\
data_dir = "/var/lib/k"
[http]
  auth-enabled = true
  shutdown-timeout = "1h30m"
[auth]
  enabled = true
  bcrypt-cost = 0x0c
  cache-expiration = "500ms"
[tls]
  ciphers = ["TLS_AES_128_GCM_SHA256"]
""")
    config = loader.load(path, {}, str(home)).config
    assert config.data_dir == "/var/lib/k"
    assert config.http.auth_enabled is True
    assert config.http.log_enabled is True  # untouched default
    assert config.http.shutdown_timeout == 5400 * SECOND
    assert config.auth.bcrypt_cost == 12
    assert config.auth.cache_expiration == SECOND // 2
    assert config.tls.ciphers == ("TLS_AES_128_GCM_SHA256",)


# --------------------------------------------------------------- precedence

def test_env_overrides_file_and_flags_override_env(tmp_path, home):
    path = write(tmp_path / "k.conf", """\
hostname = "file-host"
data_dir = "/from/file"
[http]
  bind-address = ":1111"
[logging]
  level = "ERROR"
  file = "/from/file.log"
""")
    environ = {
        "KAPACITOR_HOSTNAME": "env-host",
        "KAPACITOR_HTTP_BIND_ADDRESS": ":2222",
        "KAPACITOR_LOGGING_LEVEL": "INFO",
    }
    config = loader.load(path, environ, str(home)).config
    assert config.hostname == "env-host"
    assert config.http.bind_address == ":2222"
    assert config.data_dir == "/from/file"
    assert config.logging.level == "INFO"
    config = loader.apply_flags(config, hostname="flag-host", log_level="debug",
                                log_file="/from/flag.log")
    assert config.hostname == "flag-host"
    assert config.logging.level == "debug"
    assert config.logging.file == "/from/flag.log"
    assert config.http.bind_address == ":2222"


def test_unset_flags_leave_the_config_alone(home):
    config = loader.load(None, {"KAPACITOR_HOSTNAME": "env-host"}, str(home)).config
    assert loader.apply_flags(config) == config


# ---------------------------------------------------------------- env names

@pytest.mark.parametrize(
    "variable, value, read, expected",
    [
        ("KAPACITOR_DATA_DIR", "/d", lambda c: c.data_dir, "/d"),
        ("KAPACITOR_HOSTNAME", "h", lambda c: c.hostname, "h"),
        ("KAPACITOR_SKIP_CONFIG_OVERRIDES", "true", lambda c: c.skip_config_overrides, True),
        ("KAPACITOR_DEFAULT_RETENTION_POLICY", "rp", lambda c: c.default_retention_policy, "rp"),
        ("KAPACITOR_HTTP_BIND_ADDRESS", ":1", lambda c: c.http.bind_address, ":1"),
        ("KAPACITOR_HTTP_AUTH_ENABLED", "true", lambda c: c.http.auth_enabled, True),
        ("KAPACITOR_HTTP_LOG_ENABLED", "false", lambda c: c.http.log_enabled, False),
        ("KAPACITOR_HTTP_HTTPS_ENABLED", "1", lambda c: c.http.https_enabled, True),
        ("KAPACITOR_HTTP_HTTPS_PRIVATE_KEY", "/k", lambda c: c.http.https_private_key, "/k"),
        ("KAPACITOR_HTTP_SHARED_SECRET", "s", lambda c: c.http.shared_secret, "s"),
        ("KAPACITOR_AUTH_ENABLED", "T", lambda c: c.auth.enabled, True),
        ("KAPACITOR_AUTH_BCRYPT_COST", "10", lambda c: c.auth.bcrypt_cost, 10),
        ("KAPACITOR_AUTH_META_INTERNAL_SHARED_SECRET", "m",
         lambda c: c.auth.meta_internal_shared_secret, "m"),
        ("KAPACITOR_AUTH_META_INSECURE_SKIP_VERIFY", "true",
         lambda c: c.auth.meta_insecure_skip_verify, True),
        ("KAPACITOR_STORAGE_BOLTDB", "/b.db", lambda c: c.storage.boltdb, "/b.db"),
        ("KAPACITOR_LOGGING_FILE", "/l.log", lambda c: c.logging.file, "/l.log"),
        ("KAPACITOR_TLS_MIN_VERSION", "tls1.3", lambda c: c.tls.min_version, "tls1.3"),
    ],
)
def test_kapacitor_variable_names_follow_the_toml_keys(home, variable, value, read, expected):
    assert read(loader.load(None, {}, str(home)).config) != expected
    loaded = loader.load(None, {variable: value}, str(home))
    assert read(loaded.config) == expected
    assert loaded.warnings == ()


def test_empty_env_value_is_ignored(tmp_path, home):
    path = write(tmp_path / "k.conf", 'data_dir = "/from/file"\n[auth]\nbcrypt-cost = 7\n')
    environ = {"KAPACITOR_DATA_DIR": "", "KAPACITOR_AUTH_BCRYPT_COST": ""}
    loaded = loader.load(path, environ, str(home))
    assert loaded.config.data_dir == "/from/file"
    assert loaded.config.auth.bcrypt_cost == 7
    assert loaded.warnings == ()


def test_docs_spelling_kapacitor_auth_bcrypt_is_accepted(home):
    loaded = loader.load(None, {"KAPACITOR_AUTH_BCRYPT": "4", "KAPACITOR_AUTH_ENABLED": "true"},
                         str(home))
    assert loaded.config.auth.bcrypt_cost == 4
    loader.validate(loaded.config)


def test_canonical_bcrypt_cost_wins_over_alias_with_a_warning(home):
    environ = {"KAPACITOR_AUTH_BCRYPT": "5", "KAPACITOR_AUTH_BCRYPT_COST": "6"}
    loaded = loader.load(None, environ, str(home))
    assert loaded.config.auth.bcrypt_cost == 6
    assert loaded.warnings == (
        "KAPACITOR_AUTH_BCRYPT ignored because KAPACITOR_AUTH_BCRYPT_COST is also set",
    )


def test_bad_alias_value_error_names_the_variable_that_was_set(home):
    with pytest.raises(loader.EnvError) as err:
        loader.load(None, {"KAPACITOR_AUTH_BCRYPT": "ten"}, str(home))
    assert str(err.value) == (
        "failed to apply KAPACITOR_AUTH_BCRYPT to BcryptCost using type int and value 'ten'"
    )


def test_unknown_kapacitor_variables_produce_a_warning_naming_them(home):
    environ = {
        "KAPACITOR_HTTP_BIND": ":1",
        "KAPACITOR_KAFKA_0_BROKERS": "h:9092",
        "KAPACITOR_CONFIG_PATH": "",
        "KAPACITOR_URL": "http://localhost:9092",
        "NOT_KAPACITOR_X": "1",
    }
    warnings = loader.load(None, environ, str(home)).warnings
    assert warnings == (
        "environment variable KAPACITOR_HTTP_BIND ignored: it names no configuration key",
        "environment variable KAPACITOR_KAFKA_0_BROKERS ignored: "
        "its section is not supported by kapacitord-tw",
    )


# ------------------------------------------------------------- value syntax

@pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
def test_go_parse_bool_true_spellings(home, text):
    config = loader.load(None, {"KAPACITOR_HTTP_AUTH_ENABLED": text}, str(home)).config
    assert config.http.auth_enabled is True


@pytest.mark.parametrize("text", ["0", "f", "F", "FALSE", "false", "False"])
def test_go_parse_bool_false_spellings(home, text):
    config = loader.load(None, {"KAPACITOR_HTTP_LOG_ENABLED": text}, str(home)).config
    assert config.http.log_enabled is False


@pytest.mark.parametrize("text", ["yes", "on", "tRUE", "2", " true", "true "])
def test_bool_outside_go_set_is_an_error(home, text):
    with pytest.raises(loader.EnvError) as err:
        loader.load(None, {"KAPACITOR_HTTP_AUTH_ENABLED": text}, str(home))
    assert str(err.value) == (
        "failed to apply KAPACITOR_HTTP_AUTH_ENABLED to AuthEnabled "
        f"using type bool and value '{text}'"
    )


@pytest.mark.parametrize(
    "text, value",
    [("10", 10), ("0x10", 16), ("0o17", 15), ("017", 15), ("0b101", 5), ("1_000", 1000),
     ("-4", -4), ("+12", 12)],
)
def test_go_int_syntax(home, text, value):
    config = loader.load(None, {"KAPACITOR_AUTH_BCRYPT_COST": text}, str(home)).config
    assert config.auth.bcrypt_cost == value


@pytest.mark.parametrize("text", ["ten", "1.5", "1__0", "_1", "0x", "08", "9223372036854775808"])
def test_int_outside_go_syntax_is_an_error(home, text):
    with pytest.raises(loader.EnvError) as err:
        loader.load(None, {"KAPACITOR_AUTH_BCRYPT_COST": text}, str(home))
    assert str(err.value) == (
        "failed to apply KAPACITOR_AUTH_BCRYPT_COST to BcryptCost "
        f"using type int and value '{text}'"
    )


@pytest.mark.parametrize(
    "text, ns",
    [("1h30m", 5400 * SECOND), ("500ms", SECOND // 2), ("1.5h", 5400 * SECOND),
     ("2h45m", 9900 * SECOND), ("300us", 300_000), ("300\u00b5s", 300_000), ("0", 0)],
)
def test_go_duration_syntax(home, text, ns):
    config = loader.load(None, {"KAPACITOR_HTTP_SHUTDOWN_TIMEOUT": text}, str(home)).config
    assert config.http.shutdown_timeout == ns


@pytest.mark.parametrize("text", ["x", "10", "1d", "h"])
def test_bad_duration_error_quotes_the_value(home, text):
    with pytest.raises(loader.EnvError) as err:
        loader.load(None, {"KAPACITOR_AUTH_CACHE_EXPIRATION": text}, str(home))
    assert str(err.value).startswith('failed to unmarshal env var: time: ')
    assert f'"{text}"' in str(err.value)


def test_bad_duration_message_matches_kapacitor(home):
    with pytest.raises(loader.EnvError) as err:
        loader.load(None, {"KAPACITOR_HTTP_SHUTDOWN_TIMEOUT": "x"}, str(home))
    assert str(err.value) == 'failed to unmarshal env var: time: invalid duration "x"'


# ---------------------------------------------------------------- the file

def test_unknown_keys_and_sections_in_the_file_are_warned_about_by_name(tmp_path, home):
    path = write(tmp_path / "k.conf", """\
data_dir = "/d"
bogus = 1
[http]
  bind = ":1"
[auth]
  bcrypt = 4
[[scraper]]
  enabled = true
[[scraper]]
  enabled = false
[madeup]
  x = 1
""")
    loaded = loader.load(path, {}, str(home))
    assert sorted(loaded.warnings) == sorted([
        "unknown configuration key bogus ignored",
        "unknown configuration key [http] bind ignored",
        "unknown configuration key [auth] bcrypt ignored",
        "configuration section [scraper] is not supported by kapacitord-tw and is ignored",
        "unknown configuration section [madeup] ignored",
    ])
    assert loaded.config.auth.bcrypt_cost == 0


def test_docs_colon_syntax_error_names_the_line_and_suggests_equals(tmp_path, home):
    path = write(tmp_path / "k.conf", '[http]\n  auth-enabled: true\n')
    with pytest.raises(loader.ParseError) as err:
        loader.load(path, {}, str(home))
    message = str(err.value)
    assert message.startswith(f"{path}: line 2: 'auth-enabled: true' is not valid TOML")
    assert "(write auth-enabled = true)" in message


def test_other_toml_errors_name_the_file_and_line(tmp_path, home):
    path = write(tmp_path / "k.conf", 'data_dir = "/d"\n[http\n')
    with pytest.raises(loader.ParseError) as err:
        loader.load(path, {}, str(home))
    assert str(err.value).startswith(f"{path}: line 2: ")


@pytest.mark.parametrize(
    "text, where",
    [
        ('[http]\nauth-enabled = "true"\n', "http.auth-enabled"),
        ('[auth]\nbcrypt-cost = "10"\n', "auth.bcrypt-cost"),
        ('hostname = 5\n', "hostname"),
        ('[tls]\nciphers = "TLS_AES_128_GCM_SHA256"\n', "tls.ciphers"),
        ('http = 5\n', "http"),
    ],
)
def test_wrong_value_type_in_the_file_is_a_parse_error_naming_the_key(tmp_path, home, text, where):
    path = write(tmp_path / "k.conf", text)
    with pytest.raises(loader.ParseError, match=f"cannot load {where}"):
        loader.load(path, {}, str(home))


def test_bad_duration_in_the_file_is_a_parse_error(tmp_path, home):
    path = write(tmp_path / "k.conf", '[http]\nshutdown-timeout = "10"\n')
    with pytest.raises(loader.ParseError) as err:
        loader.load(path, {}, str(home))
    assert str(err.value) == (
        'toml: cannot load http.shutdown-timeout: time: missing unit in duration "10"'
    )


def test_missing_file_is_a_parse_error(tmp_path, home):
    path = str(tmp_path / "nope.conf")
    with pytest.raises(loader.ParseError) as err:
        loader.load(path, {}, str(home))
    assert str(err.value) == f"open {path}: no such file or directory"


def test_demo_config_is_not_a_builtin_config():
    assert model.demo_config("/h").data_dir == "/h/.kapacitor"
    assert model.builtin_config().data_dir == ""
