"""``POST /kapacitor/v1/write`` and ``POST /write`` (reference §5.2, §2.10,
§2.11, §10 #9): points reach the bus, errors are plain text, bodies are
bounded, and who may write to which database."""

from __future__ import annotations

import gzip
import time

import pytest

from kapacitord_tw.ingest.points import Point
from tests.http.harness import JSON_TYPE, V1, Harness, err_body
from tests.ingest.support import write_workers  # noqa: F401  (a fixture)
from tests.ops.support import ADMIN, httpd_values, record_points, secured, with_settings

WRITE_PATHS = [V1 + "/write", "/write"]
LIMIT = 4096


@pytest.fixture(params=["in-daemon", "workers"])
def h(request, tmp_path):
    """Every test runs with bodies parsed in the daemon (``[http]
    write-workers = 0``) and in real parse worker processes."""
    h = secured(tmp_path, max_body_size=LIMIT)
    if request.param == "workers":
        request.getfixturevalue("write_workers").serve(h)
    return h


@pytest.fixture
def batches(h):
    return record_points(h)


def write(h, query, body, path=V1 + "/write", auth=ADMIN, headers=None):
    return h.post(f"{path}?{query}", body, auth=auth, headers=headers)


def assert_plain(reply, code, message):
    """/write's error form: the message and a newline under a JSON content type."""
    assert (reply.code, reply.body) == (code, message.encode() + b"\n")
    assert reply.header("Content-Type") == JSON_TYPE


# ------------------------------------------------------------ success

@pytest.mark.parametrize("path", WRITE_PATHS)
def test_write_returns_204_and_publishes_the_point(h, batches, path):
    r = write(h, "db=telegraf&rp=autogen",
              b"cpu,host=a,cpu=cpu0 usage_idle=5,busy=true,n=3i,s=\"x y\" 1700000000000000000",
              path=path)
    assert (r.code, r.body) == (204, b"")
    assert batches == [(
        Point(database="telegraf", retention_policy="autogen", measurement="cpu",
              tags=(("cpu", "cpu0"), ("host", "a")),
              fields=(("busy", True), ("n", 3), ("s", "x y"), ("usage_idle", 5.0)),
              time=1700000000000000000),
    )]


def test_lines_of_one_body_arrive_as_one_batch_in_order(h, batches):
    r = write(h, "db=db", b"a v=1 1\nb v=2 2\n\n# comment\nc v=3 3\n")
    assert r.code == 204
    assert len(batches) == 1
    assert [(p.measurement, p.time) for p in batches[0]] == [("a", 1), ("b", 2), ("c", 3)]


@pytest.mark.parametrize("query", ["db=db", "db=db&rp="])
def test_empty_rp_means_the_default_retention_policy(tmp_path, monkeypatch, query):
    with_settings(monkeypatch, default_retention_policy="longterm")
    h = secured(tmp_path)
    batches = record_points(h)
    assert write(h, query, b"cpu v=1 1").code == 204
    assert batches[0][0].retention_policy == "longterm"


@pytest.mark.parametrize("precision, nanoseconds", [
    ("", 7), ("n", 7), ("u", 7_000), ("ms", 7_000_000), ("s", 7_000_000_000),
    ("m", 420_000_000_000), ("h", 25_200_000_000_000), ("bogus", 7),
])
def test_precision_scales_the_timestamp(h, batches, precision, nanoseconds):
    assert write(h, f"db=db&precision={precision}", b"cpu v=1 7").code == 204
    assert batches[0][0].time == nanoseconds


def test_point_without_timestamp_gets_the_server_time_truncated_to_precision(h, batches):
    before = time.time_ns()
    assert write(h, "db=db&precision=s", b"cpu v=1").code == 204
    after = time.time_ns()
    stamp = batches[0][0].time
    assert before - 1_000_000_000 < stamp <= after
    assert stamp % 1_000_000_000 == 0


def test_empty_body_with_a_database_is_204_and_publishes_nothing(h, batches):
    assert write(h, "db=db", b"").code == 204
    assert batches == []


def test_query_credentials_work_for_write(h, batches):
    r = h.post(V1 + "/write?db=db&u=admin&p=pw", b"cpu v=1 1")
    assert r.code == 204
    assert len(batches) == 1


# ------------------------------------------------------------- errors

def test_parse_error_is_400_plain_text_and_nothing_is_published(h, batches):
    r = write(h, "db=db", b"cpu v=1 1\ncpu,host=a usage_idle\n")
    assert_plain(r, 400, "unable to parse 'cpu,host=a usage_idle': invalid field format")
    assert batches == []


def test_every_bad_line_is_reported(h, batches):
    r = write(h, "db=db", b"bad\ncpu v=1\nworse\n")
    assert_plain(r, 400, "unable to parse 'bad': missing fields\n"
                         "unable to parse 'worse': missing fields")
    assert batches == []


@pytest.mark.parametrize("query", ["", "rp=autogen", "db="])
def test_missing_database_is_400_database_is_required(h, batches, query):
    assert_plain(write(h, query, b"cpu v=1 1"), 400, "database is required")
    assert batches == []


def test_a_bad_body_is_reported_before_a_missing_database(h):
    assert_plain(write(h, "", b"nofields"), 400, "unable to parse 'nofields': missing fields")


def test_undecodable_fields_are_400_not_500_and_nothing_is_published(h, batches):
    # Syntactically valid, but InfluxDB's field decoder fails on it; the
    # original answers 500 after publishing the first point.
    r = write(h, "db=db", b'ok v=1\ncpu a\\\\="x=y"\nlater v=2')
    assert r.code == 400
    assert r.body.startswith(b"unable to unmarshal field ") and r.body.endswith(b"\n")
    assert batches == []
    assert httpd_values(h)["points_written_fail"] == 2


# --------------------------------------------------------------- gzip

GZIP = {"Content-Encoding": "gzip"}


def test_gzip_body_is_inflated(h, batches):
    r = write(h, "db=db", gzip.compress(b"cpu v=1 1\ncpu v=2 2\n"), headers=GZIP)
    assert r.code == 204
    assert [p.field_map["v"] for p in batches[0]] == [1.0, 2.0]


def test_every_member_of_a_multi_member_gzip_body_is_inflated(h, batches):
    # Go's gzip.Reader reads concatenated members; dropping the second
    # member silently would lose points.
    body = gzip.compress(b"cpu v=1 1\n") + gzip.compress(b"cpu v=2 2\n")
    assert write(h, "db=db", body, headers=GZIP).code == 204
    assert [p.time for p in batches[0]] == [1, 2]


MEMBER = gzip.compress(b"cpu v=1 1\n")


@pytest.mark.parametrize("body, message", [
    (b"cpu,host=a v=1 1", "gzip: invalid header"),      # not gzip at all
    (b"", "EOF"),
    (b"cpu v=1", "unexpected EOF"),                     # shorter than a gzip header
    (MEMBER[:-6], "unexpected EOF"),                    # truncated
    (MEMBER + b"garbage and more", "gzip: invalid header"),  # trailing bytes, no member
    (MEMBER + MEMBER[:5], "unexpected EOF"),            # a second header cut short
])
def test_bad_gzip_body_is_400_plain_text_with_go_messages(h, batches, body, message):
    assert_plain(write(h, "db=db", body, headers=GZIP), 400, message)
    assert batches == []


def test_corrupt_deflate_data_is_400(h, batches):
    body = bytearray(gzip.compress(b"cpu v=1 1\n" * 20))
    body[12:20] = b"\xff" * 8
    r = write(h, "db=db", bytes(body), headers=GZIP)
    assert r.code == 400
    assert r.body.startswith(b"gzip: ") and r.body.endswith(b"\n")
    assert batches == []


def test_gzip_bomb_that_inflates_past_max_body_size_is_413(h, batches):
    bomb = gzip.compress(b"cpu v=1 1\n" * 100_000)
    assert len(bomb) < LIMIT
    r = write(h, "db=db", bomb, headers=GZIP)
    assert_plain(r, 413, f"request body too large: the limit is {LIMIT} bytes")
    assert batches == []


def test_gzip_body_inflating_to_exactly_the_limit_is_accepted(h, batches):
    line = b"cpu v=1 1\n"
    body = line * (LIMIT // len(line))
    body += b"#" * (LIMIT - len(body) - 1) + b"\n"
    assert len(body) == LIMIT
    assert write(h, "db=db", gzip.compress(body), headers=GZIP).code == 204
    assert len(batches[0]) == LIMIT // len(line)


def test_body_over_max_body_size_is_413(h, batches):
    r = write(h, "db=db", b"cpu v=1 1\n" * (LIMIT // 10 + 1))
    assert r.code == 413
    assert r.json()["error"] == f"request body too large: the limit is {LIMIT} bytes"
    assert batches == []


def test_other_content_encodings_are_read_as_they_are(h, batches):
    r = write(h, "db=db", b"cpu v=1 1", headers={"Content-Encoding": "identity"})
    assert r.code == 204
    assert len(batches) == 1


# ----------------------------------------------------------- counters

def test_counters_count_requests_bytes_and_points(h):
    ok = b"cpu v=1 1\ncpu v=2 2\n"
    inflated = b"cpu v=3 3\n"
    assert write(h, "db=db", ok).code == 204
    assert write(h, "db=db", gzip.compress(inflated), headers=GZIP).code == 204
    assert write(h, "db=db", b"broken").code == 400
    values = httpd_values(h)
    assert values["write_req"] == 3
    # Bytes after inflating, as the original counts them.
    assert values["write_req_bytes"] == len(ok) + len(inflated) + len(b"broken")
    assert values["points_written_ok"] == 3
    assert values["points_written_fail"] == 0


# ------------------------------------------------------ authorization

@pytest.mark.parametrize("path", WRITE_PATHS)
@pytest.mark.parametrize("permissions", [["write_points"], ["all"], ["api", "write_points"]])
def test_write_points_and_all_users_may_write_to_any_database(h, batches, path, permissions):
    h.add_user("writer", permissions=permissions)
    r = write(h, "db=anything", b"cpu v=1 1", path=path, auth=("writer", "pw"))
    assert r.code == 204, r.body
    assert batches[0][0].database == "anything"


@pytest.mark.parametrize("path", WRITE_PATHS)
@pytest.mark.parametrize("permissions", [["api"], [], ["config_api"]])
def test_users_without_write_permission_get_403_from_the_api_check(h, batches, path,
                                                                  permissions):
    h.add_user("bob", permissions=permissions)
    r = write(h, "db=db", b"cpu v=1 1", path=path, auth=("bob", "pw"))
    message = f'user bob does not have "write" privilege for API endpoint "{path}"'
    assert (r.code, r.body) == (403, err_body(message, pretty=False))
    assert batches == []


def test_anonymous_write_is_401(h, batches):
    r = h.post(V1 + "/write?db=db", b"cpu v=1 1")
    assert (r.code, r.body) == (
        401, err_body("unable to parse authentication credentials", pretty=False))
    assert batches == []


def test_wrong_password_write_is_401(h, batches):
    r = write(h, "db=db", b"cpu v=1 1", auth=("admin", "nope"))
    assert (r.code, r.body) == (401, err_body("authorization failed", pretty=False))
    assert batches == []


SUBSCRIBER = ("~subscriber", "tok")


@pytest.fixture
def subscription(h):
    """The user Kapacitor creates for an InfluxDB subscription to ``telegraf``."""
    h.put_record("_sub:tok", privileges={"/api/write": 4, "/api/ping": 16,
                                         "/database/telegraf_clean": 4})


@pytest.mark.parametrize("path", WRITE_PATHS)
def test_subscription_user_writes_to_its_database_with_any_rp(h, batches, subscription, path):
    r = write(h, "db=telegraf&rp=whatever", b"cpu v=1 1", path=path, auth=SUBSCRIBER)
    assert r.code == 204, r.body
    assert (batches[0][0].database, batches[0][0].retention_policy) == ("telegraf", "whatever")


def test_subscription_user_gets_401_plain_text_for_another_database(h, batches, subscription):
    r = write(h, "db=other", b"cpu v=1 1", auth=SUBSCRIBER)
    assert_plain(r, 401, '"_sub:tok" user is not authorized to write to database "other"')
    assert batches == []


def test_database_names_in_the_401_are_go_quoted(h, subscription):
    r = write(h, "db=a%22b%5C", b"cpu v=1 1", auth=SUBSCRIBER)
    assert_plain(r, 401, '"_sub:tok" user is not authorized to write to database "a\\"b\\\\"')


@pytest.mark.parametrize("path", WRITE_PATHS)
def test_options_is_200_without_credentials(h, path):
    r = h.request("OPTIONS", path)
    assert (r.code, r.body) == (200, b"")


def test_without_http_auth_anyone_writes(tmp_path):
    h = Harness(tmp_path, http_auth=False)
    batches = record_points(h)
    assert h.post("/write?db=db", b"cpu v=1 1").code == 204
    assert len(batches) == 1
