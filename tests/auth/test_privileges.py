"""Kapacitor's privilege model: resources, the prefix walk, and permission strings (§2.7, §2.8, §2.11)."""

import attrs
import pytest

from kapacitord_tw.auth.privileges import (
    ADMIN_USER,
    PERMISSIONS,
    Privilege,
    PrivilegeMap,
    User,
    api_resource,
    authorization_error_message,
    database_resource,
    permissions_from_privileges,
    privileges_from_permissions,
    required_privilege,
    valid_task_id,
    valid_template_id,
    valid_username,
)

NONE, READ, WRITE, DELETE, ALL = (
    Privilege.NONE, Privilege.READ, Privilege.WRITE, Privilege.DELETE, Privilege.ALL)


def user_with(*permissions, admin=False):
    return User("bob", admin=admin, privileges=privileges_from_permissions(permissions))


def may(user, method, url_path):
    """What the HTTP layer asks: may *user* send *method* to *url_path*?"""
    return user.authorize(required_privilege(method), api_resource(url_path))


# --- Privilege ------------------------------------------------------------

@pytest.mark.parametrize("mask, name", [
    (NONE, "none"), (READ, "read"), (WRITE, "write"), (DELETE, "delete"), (ALL, "all"),
    (READ | WRITE, "unknown"), (0, "unknown"), (32, "unknown"),
])
def test_privileges_print_their_go_names(mask, name):
    assert Privilege.name_of(mask) == name


def test_privilege_formats_as_its_name_in_messages():
    assert f"{Privilege.DELETE}" == "delete"
    assert str(Privilege.READ) == "read"


def test_privilege_bits_have_kapacitor_values():
    assert [int(p) for p in (NONE, READ, WRITE, DELETE, ALL)] == [1, 2, 4, 8, 16]


@pytest.mark.parametrize("method, privilege", [
    ("HEAD", NONE), ("OPTIONS", NONE), ("GET", READ), ("POST", WRITE), ("PATCH", WRITE),
    ("PUT", WRITE), ("DELETE", DELETE), ("get", READ), ("Delete", DELETE),
])
def test_http_methods_require_privileges(method, privilege):
    assert required_privilege(method) is privilege


def test_unknown_method_is_an_error_with_go_text():
    with pytest.raises(ValueError) as info:
        required_privilege("propfind")
    assert str(info.value) == 'unknown method "PROPFIND"'


# --- resources -------------------------------------------------------------

@pytest.mark.parametrize("url_path, resource", [
    ("/kapacitor/v1/users/bob", "/api/users/bob"),
    ("/write", "/api/write"),
    ("/kapacitor/v1", "/api"),
    ("/kapacitor/v1/", "/api"),
    ("/foo", "/api/foo"),
    ("/kapacitor/v1preview/logs", "/api/preview/logs"),
    ("/kapacitor/v1/ping", "/api/ping"),
])
def test_api_resource_strips_base_path_under_api(url_path, resource):
    assert api_resource(url_path) == resource


@pytest.mark.parametrize("database, resource", [
    ("", "/database"),
    ("mydb", "/database/mydb_clean"),
    ("my/db", "/database/my_db_dirty"),
    ("my_db", "/database/my_db_clean"),
    ("a/../b", "/database/a_.._b_dirty"),
])
def test_database_resource_is_one_path_element(database, resource):
    assert database_resource(database) == resource


# --- User construction --------------------------------------------------------

def test_privilege_keys_are_path_cleaned_when_user_is_built():
    user = User("bob", privileges={"/a/b/": READ, "/../x/./y": WRITE})
    assert dict(user.privileges) == {"/a/b": READ, "/x/y": WRITE}


def test_privilege_lists_are_ored_into_a_mask():
    user = User("bob", privileges={"/api/tasks": [READ, WRITE]})
    assert user.privileges["/api/tasks"] == READ | WRITE


def test_users_with_equal_fields_are_equal_and_hash_alike():
    a = User("bob", hash=b"$2a$", privileges={"/api": ALL, "/api/write": NONE})
    b = User("bob", hash=bytearray(b"$2a$"), privileges=[("/api/write/", NONE), ("/api", ALL)])
    assert a == b
    assert hash(a) == hash(b)
    assert a.privileges == {"/api": 16, "/api/write": 1}
    assert a != attrs.evolve(a, admin=True)


def test_user_is_immutable():
    user = user_with("api")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        user.admin = True
    with pytest.raises(TypeError):
        user.privileges["/api/write"] = ALL


def test_password_hash_never_appears_in_repr():
    user = User("bob", hash=b"$2a$10$secret-hash-bytes")
    assert "secret-hash-bytes" not in repr(user)


def test_privilege_map_is_reusable_without_copying():
    privileges = PrivilegeMap({"/api": ALL})
    assert User("a", privileges=privileges).privileges is privileges


def test_built_in_admin_user_is_named_like_kapacitors():
    assert ADMIN_USER.name == "ADMIN_USER"
    assert ADMIN_USER.admin is True
    assert ADMIN_USER.authorize(DELETE, "/api/users/root")
    assert ADMIN_USER.authorize(WRITE, database_resource("mydb"))


# --- authorization walk ------------------------------------------------------

def test_admin_is_authorized_for_anything_even_without_entries():
    assert User("root", admin=True).authorize(DELETE, "/api/config/x")


def test_none_privilege_is_always_authorized_even_without_entries():
    assert User("nobody").authorize(NONE, "/api/ping")


def test_user_without_entries_is_denied():
    assert User("nobody").authorize(READ, "/api/ping") is False


def test_entry_authorizes_its_subtree():
    user = User("bob", privileges={"/api/tasks": READ})
    assert user.authorize(READ, "/api/tasks")
    assert user.authorize(READ, "/api/tasks/cpu/extra")
    assert not user.authorize(WRITE, "/api/tasks/cpu")
    assert not user.authorize(READ, "/api/templates")


def test_all_mask_is_a_wildcard_only_by_itself():
    assert User("a", privileges={"/api": ALL}).authorize(DELETE, "/api/x")
    # ALL combined with another bit is not equal to ALL and lacks DELETE.
    assert not User("a", privileges={"/api": ALL | READ}).authorize(DELETE, "/api/x")


def test_more_specific_none_entry_shadows_parent_grant():
    user = User("bob", privileges={"/api": ALL, "/api/write": NONE})
    assert user.authorize(WRITE, "/api/tasks")
    assert not user.authorize(WRITE, "/api/write")
    assert not user.authorize(READ, "/api/write/deep/path")


def test_first_entry_found_decides_even_when_parent_would_allow():
    user = User("bob", privileges={"/api": ALL, "/api/tasks": READ})
    assert not user.authorize(DELETE, "/api/tasks/cpu")


def test_root_entry_covers_every_resource():
    user = User("bob", privileges={"/": READ})
    assert user.authorize(READ, "/database/mydb_clean")
    assert not user.authorize(WRITE, "/api")


def test_resource_is_cleaned_before_the_walk():
    user = user_with("api")
    assert user.authorize(READ, "/api/write/../tasks")
    assert not user.authorize(READ, "/api/tasks/../config/x")
    assert not user.authorize(READ, "/api/../../etc")


def test_relative_resource_is_an_error_not_a_denial():
    with pytest.raises(ValueError) as info:
        user_with("api").authorize(READ, "api/tasks")
    assert str(info.value) == 'invalid action resource: "api/tasks", must be an absolute path'


def test_403_message_names_the_full_request_path():
    assert authorization_error_message("bob", DELETE, "/kapacitor/v1/users/root") == (
        'user bob does not have "delete" privilege for API endpoint "/kapacitor/v1/users/root"')


def test_403_message_quotes_path_with_go_escapes():
    assert authorization_error_message("bob", READ, '/kapacitor/v1/tasks/a"b\n') == (
        'user bob does not have "read" privilege for API endpoint "/kapacitor/v1/tasks/a\\"b\\n"')


# --- effective access per permission (§2.8 table) ------------------------------

def test_user_without_permissions_may_only_head_and_options():
    user = user_with()
    assert may(user, "HEAD", "/kapacitor/v1/ping")
    assert may(user, "OPTIONS", "/kapacitor/v1/users")
    assert not may(user, "GET", "/kapacitor/v1/ping")


def test_api_permission_covers_everything_but_write_and_config():
    user = user_with("api")
    for method, url in [("GET", "/kapacitor/v1/tasks"), ("POST", "/kapacitor/v1/users"),
                        ("DELETE", "/kapacitor/v1/users/root"), ("GET", "/kapacitor/v1/storage/backup"),
                        ("GET", "/kapacitor/v1preview/logs"), ("GET", "/kapacitor/v1/ping")]:
        assert may(user, method, url), (method, url)
    assert not may(user, "POST", "/write")
    assert not may(user, "POST", "/kapacitor/v1/write")
    assert not may(user, "GET", "/kapacitor/v1/config")
    assert not may(user, "POST", "/kapacitor/v1/config/influxdb/default")


def test_config_api_permission_grants_ping_and_config_only():
    user = user_with("config_api")
    assert may(user, "GET", "/kapacitor/v1/ping")
    assert may(user, "GET", "/kapacitor/v1/config")
    assert may(user, "POST", "/kapacitor/v1/config/smtp")
    assert not may(user, "GET", "/kapacitor/v1/tasks")


def test_write_points_passes_api_check_but_not_database_check():
    user = user_with("write_points")
    assert may(user, "GET", "/kapacitor/v1/ping")
    assert may(user, "POST", "/write")
    assert not user.authorize(WRITE, database_resource("mydb"))
    assert not may(user, "GET", "/kapacitor/v1/tasks")


def test_all_permission_covers_api_config_and_write_but_no_database():
    user = user_with("all")
    assert may(user, "POST", "/kapacitor/v1/config/smtp")
    assert may(user, "POST", "/write")
    assert may(user, "DELETE", "/kapacitor/v1/users/x")
    assert not user.authorize(WRITE, database_resource("mydb"))


def test_subscription_style_user_may_write_its_database():
    user = User("_sub:tok", privileges={
        "/api/write": WRITE, "/api/ping": ALL, database_resource("telegraf"): WRITE})
    assert may(user, "POST", "/write")
    assert user.authorize(WRITE, database_resource("telegraf"))
    assert not user.authorize(WRITE, database_resource("other"))
    assert not may(user, "GET", "/kapacitor/v1/tasks")


# --- permission strings ---------------------------------------------------------

def test_permission_strings_are_kapacitors_five():
    assert PERMISSIONS == ("none", "api", "config_api", "write_points", "all")


@pytest.mark.parametrize("permissions, stored", [
    (["api"], {"/api": ALL, "/api/write": NONE, "/api/config": NONE}),
    (["api", "config_api"], {"/api": ALL, "/api/write": NONE, "/api/config": ALL, "/api/ping": ALL}),
    (["config_api", "api"], {"/api": ALL, "/api/write": NONE, "/api/config": ALL, "/api/ping": ALL}),
    (["write_points", "api"], {"/api": ALL, "/api/write": ALL, "/api/config": NONE, "/api/ping": ALL}),
    (["api", "write_points"], {"/api": ALL, "/api/write": ALL, "/api/config": NONE, "/api/ping": ALL}),
    (["config_api"], {"/api/ping": ALL, "/api/config": ALL}),
    (["write_points"], {"/api/ping": ALL, "/api/write": ALL}),
    (["all"], {"/api": ALL, "/api/config": ALL, "/api/write": ALL}),
    (["all", "api"], {"/api": ALL, "/api/config": ALL, "/api/write": ALL}),
    ([], {}),
    (None, {}),
    (["none"], {}),
    (["none", "none"], {}),
])
def test_permissions_convert_to_stored_privileges(permissions, stored):
    assert privileges_from_permissions(permissions) == stored


def test_unknown_permission_is_rejected_with_go_text():
    with pytest.raises(ValueError) as info:
        privileges_from_permissions(["api", "root"])
    assert str(info.value) == "unknown permission root"


@pytest.mark.parametrize("permissions, shown", [
    (["api"], ["api"]),
    (["config_api"], ["config_api"]),
    (["write_points"], ["write_points"]),
    (["write_points", "config_api", "api"], ["all"]),
    (["api", "config_api", "write_points"], ["all"]),
    (["all"], ["all"]),
    (["api", "config_api"], ["api", "config_api"]),
    (["write_points", "api"], ["api", "write_points"]),
    (["config_api", "write_points"], ["config_api", "write_points"]),
    (["none"], []),
    ([], []),
])
def test_stored_privileges_show_as_permissions(permissions, shown):
    assert user_with(*permissions).permissions() == shown


def test_admin_user_shows_empty_permissions():
    assert User("root", admin=True).permissions() == []


def test_permissions_need_the_all_bit_on_the_exact_resource():
    assert permissions_from_privileges({"/api": READ | WRITE | DELETE}) == []
    assert permissions_from_privileges({"/api": ALL | READ}) == ["api"]
    assert permissions_from_privileges({"/api/write": WRITE, "/api/ping": ALL}) == []


# --- names --------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "bob", "Bob-1.2_3", "bob@example.com", "ünïcødé", "日本", "0", "._-@",
])
def test_valid_usernames(name):
    assert valid_username(name)


@pytest.mark.parametrize("name", [
    "", "a b", "bob\n", "a/b", "_sub:tok", "a:b", "\u0661", "a+b", "tab\t", "é\u0301",
])
def test_invalid_usernames(name):
    assert not valid_username(name)


def test_task_and_template_ids_follow_username_rule_without_at_sign():
    assert valid_task_id("cpu_alert-1.2")
    assert valid_task_id("ünï")
    assert not valid_task_id("cpu@host")
    assert not valid_task_id("")
    assert not valid_task_id("a b")
    assert valid_template_id is valid_task_id
