"""``kapacitor user ...`` against the real ``kapacitord`` with authentication on.

One daemon per module: first started with ``[http] auth-enabled = false``
(the documented bootstrap mode) to create the first admin through the CLI,
then restarted on the same data with authentication enforced.
"""

from __future__ import annotations

import io
from urllib.parse import quote

import attrs
import pytest

from kapacitord_tw.cli.kapacitor import run
from kapacitord_tw.cli.kapacitor.runtime import Terminal

daemon_support = pytest.importorskip("tests.support.daemon")

ADMIN_PASSWORD = "adm:n/p@ss%"
BOB_PASSWORD = "b@b:s/ecret"


@attrs.frozen
class Outcome:
    code: int
    out: str
    err: str


def cli(base_url: str, *args: str, user: str | None = None, password: str | None = None,
        stdin: str = "") -> Outcome:
    url = base_url
    if user is not None:
        userinfo = quote(user, safe="") + ":" + quote(password or "", safe="")
        url = base_url.replace("http://", "http://" + userinfo + "@", 1)
    out, err = io.StringIO(), io.StringIO()
    terminal = Terminal(stdout=out, stderr=err, stdin=io.StringIO(stdin),
                        prompt_secret=lambda _p: "", stdin_is_tty=lambda _s: False)
    code = run(["-url", url, *args], environ={}, terminal=terminal)
    return Outcome(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """Base URL of a daemon with auth enforced and an admin created by the CLI."""
    directory = tmp_path_factory.mktemp("kapacitord")
    data = directory / "data"
    port = daemon_support.free_port()
    base = "http://127.0.0.1:%d" % port

    open_config = daemon_support.write_config(directory / "open.conf", data, port, http_auth=False)
    with daemon_support.Daemon(open_config, port):
        created = cli(base, "user", "create", "admin", "-type", "admin", stdin=ADMIN_PASSWORD + "\n")
        assert created == Outcome(0, "", ""), created

    secure_config = daemon_support.write_config(directory / "secure.conf", data, port, http_auth=True)
    daemon = daemon_support.Daemon(secure_config, port).start()
    try:
        yield base
    finally:
        daemon.kill()


def admin(base: str, *args: str, stdin: str = "") -> Outcome:
    return cli(base, *args, user="admin", password=ADMIN_PASSWORD, stdin=stdin)


def test_admin_created_in_bootstrap_mode_can_list_users(secured):
    result = admin(secured, "user", "list")
    assert result.code == 0, result.err
    assert result.out == "Name  Type      Permissions\nadmin admin     \n"


def test_wrong_password_is_rejected_with_a_hint(secured):
    result = cli(secured, "user", "list", user="admin", password="wrong")
    assert (result.code, result.out) == (3, "")
    assert result.err == "Error: authorization failed: check the credentials in -url\n"


def test_missing_credentials_are_rejected_with_a_hint(secured):
    result = cli(secured, "user", "list")
    assert result.code == 3
    assert result.err.startswith("Error: unable to parse authentication credentials: ")


def test_user_lifecycle_with_special_character_passwords(secured):
    created = admin(secured, "user", "create", "bob", stdin=BOB_PASSWORD + "\n")
    assert created == Outcome(0, "", ""), created

    shown = admin(secured, "user", "show", "bob")
    assert shown == Outcome(0, "Name: bob\nType: normal\nPermissions: \n", "")

    # bob's percent-encoded password is accepted (403, not 401): no permissions.
    denied = cli(secured, "user", "list", user="bob", password=BOB_PASSWORD)
    assert denied.code == 3
    assert denied.err == (
        'Error: user bob does not have "read" privilege for API endpoint "/kapacitor/v1/users"\n'
    )

    changed = admin(secured, "user", "update", "bob", "-perms", "api,write_points")
    assert changed == Outcome(0, "", ""), changed
    shown = admin(secured, "user", "show", "bob")
    assert shown.out == "Name: bob\nType: normal\nPermissions: api,write_points\n"

    deleted = admin(secured, "user", "delete", "bob")
    assert deleted == Outcome(0, "", ""), deleted
    missing = admin(secured, "user", "show", "bob")
    assert (missing.code, missing.err) == (3, "Error: no user exists\n")
    gone = cli(secured, "user", "show", "bob", user="bob", password=BOB_PASSWORD)
    assert gone.err == "Error: authorization failed: check the credentials in -url\n"


def test_user_created_with_permissions_can_read_its_own_record(secured):
    created = admin(secured, "user", "create", "carol", "-perms", "api", stdin="c@rol:pw/1\n")
    assert created == Outcome(0, "", ""), created
    shown = cli(secured, "user", "show", "carol", user="carol", password="c@rol:pw/1")
    assert shown == Outcome(0, "Name: carol\nType: normal\nPermissions: api\n", ""), shown


def test_new_password_works_after_passwd(secured):
    admin(secured, "user", "create", "dave", "-perms", "api", stdin="old-pw\n")
    changed = admin(secured, "user", "passwd", "dave", stdin="n3w/p@ss:word\n")
    assert changed == Outcome(0, "", ""), changed
    result = cli(secured, "user", "show", "dave", user="dave", password="n3w/p@ss:word")
    assert result == Outcome(0, "Name: dave\nType: normal\nPermissions: api\n", ""), result


def test_granted_permissions_take_effect_at_once(secured):
    admin(secured, "user", "create", "erin", stdin="erin-pw\n")
    before = cli(secured, "vars", user="erin", password="erin-pw")
    assert before.code == 3
    assert before.err == (
        'Error: user erin does not have "read" privilege for API endpoint "/kapacitor/v1/debug/vars"\n'
    )
    assert admin(secured, "user", "update", "erin", "-perms", "api").code == 0
    after = cli(secured, "vars", user="erin", password="erin-pw")
    assert (after.code, after.err) == (0, "")
    assert '"cluster_id"' in after.out


def test_creating_an_existing_user_fails(secured):
    result = admin(secured, "user", "create", "admin", stdin="whatever\n")
    assert result.code == 3
    assert "already exists" in result.err


def test_server_validation_messages_reach_the_user(secured):
    result = admin(secured, "user", "create", "no spaces", stdin="pw\n")
    assert result.code == 3
    assert result.err == (
        "Error: username must contain only letters, numbers, '-', '.', '@' and '_'. \"no spaces\"\n"
    )


def test_stats_general_against_the_daemon(secured):
    result = admin(secured, "stats", "general")
    assert result.code == 0, result.err
    labels = [line[:30].rstrip() for line in result.out.splitlines()]
    assert labels == [
        "ClusterID:", "ServerID:", "Host:", "Tasks:", "Enabled Tasks:",
        "Subscriptions:", "Platform:", "Version:",
    ]


def test_backup_against_the_daemon_needs_credentials(secured, tmp_path):
    target = tmp_path / "kapacitor.db"
    anonymous = cli(secured, "backup", str(target))
    assert anonymous.code == 3
    assert anonymous.err.startswith("Error: failed to perform backup: unable to parse authentication credentials")
    assert not target.exists()
    result = admin(secured, "backup", str(target))
    assert result == Outcome(0, "", ""), result
    assert target.stat().st_size > 0
