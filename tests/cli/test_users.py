"""``kapacitor user ...``: requests made, table output, password handling."""

from __future__ import annotations

USERS = "/kapacitor/v1/users"
ADMIN_URL_USERINFO = "admin:secret"


def _user(name: str, user_type: str = "normal", permissions=()) -> dict:
    return {
        "link": {"rel": "self", "href": "%s/%s" % (USERS, name)},
        "name": name,
        "type": user_type,
        "permissions": list(permissions),
    }


def _listed(name: str, user_type: str = "normal", permissions=()) -> dict:
    # List entries have sorted keys in the original.
    entry = _user(name, user_type, permissions)
    return {k: entry[k] for k in sorted(entry)}


# -- create ---------------------------------------------------------------


def test_create_reads_the_password_from_piped_stdin(kapacitor, server):
    server.reply("POST", USERS, json_body=_user("bob", permissions=["api"]))
    result = kapacitor("user", "create", "bob", "-perms", "api", stdin="p@ss word\n")
    assert (result.code, result.out, result.err) == (0, "", "")
    request = server.requests[0]
    assert (request.method, request.path) == ("POST", USERS)
    assert request.json() == {
        "name": "bob",
        "password": "p@ss word",
        "type": "normal",
        "permissions": ["api"],
    }
    assert request.body.endswith(b"\n")
    assert request.headers["content-type"] == "application/json"
    assert result.prompts == []


def test_create_an_admin_with_flags_before_the_name(kapacitor, server):
    server.reply("POST", USERS, json_body=_user("root", "admin"))
    result = kapacitor("user", "create", "-type=admin", "root", stdin="pw\r\n")
    assert result.code == 0, result.err
    assert server.requests[0].json() == {
        "name": "root", "password": "pw", "type": "admin", "permissions": [],
    }


def test_create_prompts_twice_without_echo_on_a_terminal(kapacitor, server):
    server.reply("POST", USERS, json_body=_user("bob"))
    result = kapacitor("user", "create", "bob", tty=True, secrets=("s3cret", "s3cret"))
    assert result.code == 0, result.err
    assert result.prompts == ["New password for user bob: ", "Retype the password: "]
    assert server.requests[0].json()["password"] == "s3cret"
    assert "s3cret" not in result.out + result.err


def test_create_with_mismatched_passwords_sends_nothing(kapacitor, server):
    result = kapacitor("user", "create", "bob", tty=True, secrets=("one", "two"))
    assert (result.code, result.err) == (3, "Error: the passwords do not match\n")
    assert server.requests == []


def test_create_with_empty_stdin_is_refused_before_any_request(kapacitor, server):
    result = kapacitor("user", "create", "bob", stdin="")
    assert (result.code, result.err) == (3, "Error: password is required\n")
    assert server.requests == []


def test_password_cannot_be_given_on_the_command_line(kapacitor, server):
    result = kapacitor("user", "create", "bob", "-password", "x")
    assert result.code == 2
    assert result.err.startswith("flag provided but not defined: -password\n")
    assert server.requests == []


def test_create_of_an_existing_user_is_an_error(kapacitor, server):
    # The original server answers a duplicate create with 200 and an empty user.
    empty = {"link": {"rel": "self", "href": USERS}, "name": "", "type": "normal", "permissions": []}
    server.reply("POST", USERS, json_body=empty)
    result = kapacitor("user", "create", "bob", stdin="pw\n")
    assert (result.code, result.err) == (3, 'Error: user "bob" already exists\n')


def test_create_shows_the_servers_validation_message(kapacitor, server):
    server.error("POST", USERS, 400, "username must contain only letters, numbers, '-', '.', '@' and '_'. \"b b\"")
    result = kapacitor("user", "create", "b b", stdin="pw\n")
    assert result.code == 3
    assert result.err == (
        "Error: username must contain only letters, numbers, '-', '.', '@' and '_'. \"b b\"\n"
    )


def test_unknown_type_is_a_usage_error(kapacitor, server):
    result = kapacitor("user", "create", "bob", "-type", "root", stdin="pw\n")
    assert result.code == 2
    assert result.err.startswith(
        'invalid value "root" for flag -type: must be "admin" or "normal"\n'
        "Usage: kapacitor user create <name>"
    )
    assert server.requests == []


def test_unknown_permission_is_a_usage_error(kapacitor, server):
    result = kapacitor("user", "create", "bob", "-perms", "api,root", stdin="pw\n")
    assert result.code == 2
    assert result.err.startswith(
        'invalid value "api,root" for flag -perms: unknown permission "root", '
        "must be one of none, api, config_api, write_points, all\n"
    )
    assert server.requests == []


def test_missing_name_is_a_usage_error(kapacitor, server):
    result = kapacitor("user", "create")
    assert result.code == 2
    assert result.err.startswith("Must provide a user name.\nUsage: kapacitor user create")


# -- list and show ---------------------------------------------------------


def test_list_prints_a_table(kapacitor, server):
    server.reply(
        "GET",
        USERS,
        json_body={
            "users": [
                _listed("admin", "admin"),
                _listed("bob", "normal", ["api", "write_points"]),
                _listed("monitoring-agent", "normal", ["all"]),
            ]
        },
    )
    result = kapacitor("user", "list")
    assert result.code == 0, result.err
    assert result.out == (
        "Name             Type      Permissions\n"
        "admin            admin     \n"
        "bob              normal    api,write_points\n"
        "monitoring-agent normal    all\n"
    )
    request = server.requests[0]
    assert request.query == [("limit", "100"), ("offset", "0"), ("pattern", "")]


def test_list_with_patterns_asks_once_per_pattern(kapacitor, server):
    server.reply("GET", USERS, json_body={"users": [_listed("bob")]})
    server.reply("GET", USERS, json_body={"users": [_listed("al")]})
    result = kapacitor("user", "list", "b*", "a?")
    assert [r.param("pattern") for r in server.requests] == [["b*"], ["a?"]]
    assert result.out == "Name Type      Permissions\nal   normal    \nbob  normal    \n"


def test_list_pages_through_more_than_a_hundred_users(kapacitor, server):
    first = [_listed("u%03d" % i) for i in range(100)]
    server.reply("GET", USERS, json_body={"users": first})
    server.reply("GET", USERS, json_body={"users": [_listed("u100")]})
    result = kapacitor("user", "list")
    assert [r.param("offset") for r in server.requests] == [["0"], ["100"]]
    assert len(result.out.splitlines()) == 102


def test_list_users_also_works_as_a_list_kind(kapacitor, server):
    server.reply("GET", USERS, json_body={"users": [_listed("bob")]})
    result = kapacitor("list", "users")
    assert result.out == "Name Type      Permissions\nbob  normal    \n"


def test_show_prints_name_type_and_permissions(kapacitor, server):
    server.reply("GET", USERS + "/bob", json_body=_user("bob", permissions=["api", "config_api"]))
    result = kapacitor("user", "show", "bob")
    assert result.code == 0, result.err
    assert result.out == "Name: bob\nType: normal\nPermissions: api,config_api\n"


def test_show_of_a_missing_user(kapacitor, server):
    server.error("GET", USERS + "/ghost", 404, "no user exists")
    result = kapacitor("user", "show", "ghost")
    assert (result.code, result.out, result.err) == (3, "", "Error: no user exists\n")


def test_server_without_users_api_gets_a_hint(kapacitor, server):
    result = kapacitor("user", "list")  # unscripted route: the catch-all 404
    assert result.code == 3
    assert result.err == (
        "Error: Not Found: the server has no /users API; it needs [auth] enabled = true "
        "(KAPACITOR_AUTH_ENABLED=true) in kapacitord's configuration\n"
    )


# -- update, passwd, delete ------------------------------------------------


def test_update_permissions_only_leaves_type_out(kapacitor, server):
    server.reply("PATCH", USERS + "/bob", json_body=_user("bob", permissions=["all"]))
    result = kapacitor("user", "update", "bob", "-perms", "api,config_api,write_points")
    assert result.code == 0, result.err
    request = server.requests[0]
    assert (request.method, request.path) == ("PATCH", USERS + "/bob")
    assert request.json() == {"permissions": ["api", "config_api", "write_points"]}


def test_update_with_empty_perms_removes_all_permissions(kapacitor, server):
    server.reply("PATCH", USERS + "/bob", json_body=_user("bob"))
    kapacitor("user", "update", "bob", "-perms", "")
    assert server.requests[0].json() == {"permissions": []}


def test_update_type_only_leaves_permissions_unchanged(kapacitor, server):
    server.reply("PATCH", USERS + "/bob", json_body=_user("bob", "admin"))
    kapacitor("user", "update", "bob", "-type", "admin")
    assert server.requests[0].body == b'{"type":"admin","permissions":null}\n'


def test_update_without_changes_is_a_usage_error(kapacitor, server):
    result = kapacitor("user", "update", "bob")
    assert result.code == 2
    assert result.err.startswith("Must provide -type or -perms.\n")
    assert server.requests == []


def test_passwd_sends_only_the_new_password(kapacitor, server):
    server.reply("PATCH", USERS + "/bob", json_body=_user("bob"))
    result = kapacitor("user", "passwd", "bob", stdin="n3w:p@ss/word\n")
    assert result.code == 0, result.err
    assert server.requests[0].json() == {"password": "n3w:p@ss/word", "permissions": None}


def test_passwd_for_a_missing_user_shows_the_servers_message(kapacitor, server):
    server.error("PATCH", USERS + "/ghost", 500, "failed to create user: updating user: no user exists")
    result = kapacitor("user", "passwd", "ghost", stdin="pw\n")
    assert result.code == 3
    assert result.err == "Error: failed to create user: updating user: no user exists\n"


def test_delete_deletes_each_named_user(kapacitor, server):
    server.reply("DELETE", USERS + "/bob", status=204)
    server.reply("DELETE", USERS + "/eve", status=204)
    result = kapacitor("user", "delete", "bob", "eve")
    assert (result.code, result.out, result.err) == (0, "", "")
    assert server.calls() == [("DELETE", USERS + "/bob"), ("DELETE", USERS + "/eve")]


def test_unknown_user_command_shows_the_user_usage(kapacitor, server):
    result = kapacitor("user", "rename", "bob")
    assert result.code == 2
    assert result.err.startswith("Unknown user command rename\nUsage: kapacitor user (create|")


def test_help_user_create_prints_its_flags(kapacitor):
    result = kapacitor("help", "user", "create")
    assert result.code == 0
    assert result.err.endswith(
        "  -perms string\n"
        "    \tComma-separated permissions: none, api, config_api, write_points, all\n"
        "  -type string\n"
        '    \tThe user type (admin|normal) (default "normal")\n'
    )
