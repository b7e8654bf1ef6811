"""
``python -m benchmarks``: the performance figures of issue 7, each a ratio
measured in one run on this machine (absolute numbers are printed too).

Starts the real daemon (and a bare ``twisted.web`` resource as the
framework's ceiling) on loopback and drives them with ``wrk``.  Figures:

* auth_overhead        ping req/s with cached Basic credentials ÷ auth off (>= 0.85)
* framework_efficiency unauthenticated ping req/s ÷ bare twisted.web    (>= 0.70)
* bcrypt_storm_p99     p99 of cached pings during a wrong-password storm
                       (32 clients, bcrypt-cost 10) ÷ p99 without       (<= 3)
* user_store_scaling   mean create-user latency with 10,000 users ÷ 10  (<= 1.25)
* startup_100k         seconds to first authenticated answer, 100k users (<= 3 s)
* login_timing         median over 60 back-to-back pairs of (unknown user ÷ wrong password)
                       refusal time, bcrypt-cost 10: within 10% (the strict form of
                       tests/abuse/test_timing.py)

Engine and ingest figures (issues 11 and 14; ``benchmarks/engine_benches.py``):

* engine_efficiency    points/s processed with the cpu-alert task ÷ accepted with no task (>= 0.60)
* task_fanout          points/s over 100 tasks on 100 measurements ÷ 1 task (>= 0.80)
* engine_storm_p99     ping p99 while writers saturate the engine ÷ idle   (<= 3)
* group_memory         RSS bytes per group, window(1m)|mean, 100k groups  (<= 4 KiB)
* window_point_memory  RSS bytes per buffered point, window(30m).every(1m) (<= 500 B)
* ingest_vs_influxdb   points/s through /write (auth, cpu-alert task) ÷ a private influxd (>= 0.60),
                       plus gzip and 100-line bodies
* write_memory         peak RSS after a 25 MiB body and 100 concurrent 1 MiB writers (report)

``python -m benchmarks --abuse`` also runs the long versions of the abuse
tests (more random requests, more kill -9 rounds) that CI runs briefly.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from tests.support.daemon import Daemon, free_port, write_config  # noqa: E402

from benchmarks import engine_benches  # noqa: E402

ADMIN = ("admin", "Pa5sw0Rd")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def wrk(url: str, seconds: int, connections: int, header: str | None = None,
        latency: bool = False) -> dict:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    if header:
        cmd += ["-H", header]
    if latency:
        cmd.append("--latency")
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    result = {"rps": rps, "raw": out}
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    if latency:
        m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        result["p99_ms"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return result


def populate(data_dir: str, count: int, admin_password: str = ADMIN[1], cost: int = 4) -> None:
    """Write ``count`` users (plus the admin) straight into a fresh store."""
    subprocess.run(
        [sys.executable, os.path.join(HERE, "populate.py"), data_dir, str(count), admin_password, str(cost)],
        check=True,
    )


class BenchDaemon(Daemon):
    """A daemon given a minute to start: a busy machine can be that slow."""

    def __enter__(self):
        return self.start(timeout=60)


class Run:
    def __init__(self, workdir: str, seconds: int):
        self.workdir = workdir
        self.seconds = seconds

    def daemon(self, name: str, http_auth: bool, auth: bool = True, cost: int = 4,
               users: int = 0, extra: str = "") -> Daemon:
        data_dir = os.path.join(self.workdir, name)
        os.makedirs(data_dir, exist_ok=True)
        if auth:
            populate(data_dir, users, cost=cost)
        port = free_port()
        conf = write_config(
            os.path.join(self.workdir, name + ".conf"), data_dir, port,
            auth=auth, http_auth=http_auth, cost=cost, extra=extra, log_level="ERROR",
        )
        return BenchDaemon(conf, port)

    def ping_rps(self, d: Daemon, header=None, connections=16) -> float:
        url = f"http://127.0.0.1:{d.port}/kapacitor/v1/ping"
        wrk(url, 1, connections, header)  # warm-up
        result = wrk(url, self.seconds, connections, header)
        if result["non2xx"]:
            raise RuntimeError(f"non-2xx answers during the benchmark:\n{result['raw']}")
        return result["rps"]


class BareSite:
    """The bare twisted.web resource, as a child process."""

    def __init__(self):
        self.port = free_port()
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "bare_site.py"), str(self.port)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                http.client.HTTPConnection("127.0.0.1", self.port, timeout=1).request("GET", "/")
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("bare site did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)


def interleaved(run: Run, targets, rounds: int = 6) -> list:
    """Total req/s of each (port, header) target, measured in alternating
    short bursts so that machine noise hits every target alike; every other
    round runs them in reverse order, so a load that rises or falls during
    the measurement does not favour the target measured first."""
    totals = [0.0] * len(targets)
    seconds = max(1, run.seconds // 2)
    for port, header in targets:
        wrk(f"http://127.0.0.1:{port}/kapacitor/v1/ping", 1, 16, header)  # warm-up
    for round_number in range(rounds):
        order = list(enumerate(targets))
        if round_number % 2:
            order.reverse()
        for i, (port, header) in order:
            result = wrk(f"http://127.0.0.1:{port}/kapacitor/v1/ping", seconds, 16, header)
            if result["non2xx"]:
                raise RuntimeError(f"non-2xx answers during the benchmark:\n{result['raw']}")
            totals[i] += result["rps"] / rounds
    return totals


def figure(name: str, value: float, target: str, ok: bool, detail: str) -> bool:
    print(f"{name} = {value:.3f}  (target {target}: {'PASS' if ok else 'FAIL'})  {detail}", flush=True)
    return ok


def bench_auth_and_framework(run: Run) -> list:
    results = []
    with run.daemon("noauth", http_auth=False) as off, run.daemon("auth", http_auth=True) as on, \
            BareSite() as bare:
        off_rps, on_rps, bare_rps = interleaved(
            run,
            [(off.port, None), (on.port, "Authorization: " + basic(*ADMIN)), (bare.port, None)],
        )
    ratio = on_rps / off_rps
    results.append(figure("auth_overhead", ratio, ">= 0.85", ratio >= 0.85,
                          f"({on_rps:.0f} req/s with Basic auth vs {off_rps:.0f} without)"))
    eff = off_rps / bare_rps
    results.append(figure("framework_efficiency", eff, ">= 0.70", eff >= 0.70,
                          f"({off_rps:.0f} req/s vs bare twisted.web {bare_rps:.0f})"))
    return results


def bench_storm(run: Run) -> list:
    with run.daemon("storm", http_auth=True, cost=10) as d:
        url = f"http://127.0.0.1:{d.port}/kapacitor/v1/ping"
        good = "Authorization: " + basic(*ADMIN)
        wrk(url, 1, 4, good)
        calm = wrk(url, run.seconds, 4, good, latency=True)
        storm = subprocess.Popen(
            ["wrk", "-t1", "-c32", f"-d{run.seconds + 2}s", "-H",
             "Authorization: " + basic("admin", "wrong-password"), url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(1)
            stormy = wrk(url, run.seconds, 4, good, latency=True)
        finally:
            storm.wait(run.seconds + 30)
    ratio = stormy["p99_ms"] / calm["p99_ms"]
    return [figure("bcrypt_storm_p99", ratio, "<= 3", ratio <= 3,
                   f"(p99 {stormy['p99_ms']:.2f} ms during the storm vs {calm['p99_ms']:.2f} ms calm; "
                   f"{stormy['rps']:.0f} vs {calm['rps']:.0f} good req/s)")]


def create_latency(d: Daemon, count: int, prefix: str) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
    headers = {"Authorization": basic(*ADMIN)}
    times = []
    for i in range(count):
        body = f'{{"name":"{prefix}{i:06d}","password":"pw-{i}","permissions":["api"]}}'
        start = time.perf_counter()
        conn.request("POST", "/kapacitor/v1/users", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        times.append(time.perf_counter() - start)
        if resp.status != 200:
            raise RuntimeError(f"create failed: {resp.status}")
    conn.close()
    times.sort()
    trimmed = times[: int(len(times) * 0.95)]  # drop the slowest 5% (scheduler noise)
    return sum(trimmed) / len(trimmed)


def bench_scaling(run: Run) -> list:
    count = 300
    with run.daemon("small", http_auth=True, users=10) as d:
        create_latency(d, 20, "warm")
        small = create_latency(d, count, "bench")
    with run.daemon("large", http_auth=True, users=10_000) as d:
        create_latency(d, 20, "warm")
        large = create_latency(d, count, "bench")
    ratio = large / small
    return [figure("user_store_scaling", ratio, "<= 1.25", ratio <= 1.25,
                   f"(mean {large * 1000:.2f} ms with 10,000 users vs {small * 1000:.2f} ms with 10)")]


def bench_startup(run: Run) -> list:
    data_dir = os.path.join(run.workdir, "startup")
    os.makedirs(data_dir, exist_ok=True)
    populate(data_dir, 100_000)
    port = free_port()
    conf = write_config(os.path.join(run.workdir, "startup.conf"), data_dir, port,
                        http_auth=True, log_level="ERROR")
    # As installed (pip compiles the .pyc files), even where PYTHONDONTWRITEBYTECODE is set.
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "kapacitord_tw")],
                   check=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE=""))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kapacitord_tw.cli.kapacitord", "-config", conf],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )
    try:
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/kapacitor/v1/ping", headers={"Authorization": basic(*ADMIN)})
                status = conn.getresponse().status
                conn.close()
                if status == 204:
                    break
            except OSError:
                time.sleep(0.01)
            if time.perf_counter() - start > 60:
                raise RuntimeError("daemon did not answer within 60 s")
        elapsed = time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(30)
    return [figure("startup_100k", elapsed, "<= 3 s", elapsed <= 3.0,
                   f"(seconds; {os.cpu_count()} cores)")]


def bench_login_timing(run: Run) -> list:
    from tests.abuse.login_timing import auth_daemon, measure

    path = pathlib.Path(run.workdir, "timing")
    path.mkdir()
    with auth_daemon(path) as d:
        sample = measure(d, 60)
    ratio = sample.median_ratio
    return [figure("login_timing", ratio, "within 10%", sample.within(0.10), f"({sample.describe()})")]


#: Figure names accepted by ``--only``, for the bench that measures them.
FIGURES = {"auth_overhead": "auth", "framework_efficiency": "auth", "bcrypt_storm_p99": "storm",
           "user_store_scaling": "scaling", "startup_100k": "startup",
           "engine_storm_p99": "engine_storm", "group_memory": "window_memory",
           "window_point_memory": "window_memory", "ingest_vs_influxdb": "ingest"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per measurement")
    parser.add_argument("--only", action="append", default=[],
                        help="auth, storm, scaling, startup, login_timing, engine_efficiency, "
                             "task_fanout, engine_storm, window_memory, ingest, write_memory, or a "
                             "figure's name (repeatable)")
    parser.add_argument("--abuse", action="store_true", help="also run the slow abuse tests")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    print(f"kapacitord-tw benchmarks, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores", flush=True)
    benches = {
        "auth": bench_auth_and_framework,
        "storm": bench_storm,
        "scaling": bench_scaling,
        "startup": bench_startup,
        "login_timing": bench_login_timing,
        "engine_efficiency": engine_benches.bench_engine_efficiency,
        "task_fanout": engine_benches.bench_task_fanout,
        "engine_storm": engine_benches.bench_engine_storm,
        "window_memory": engine_benches.bench_window_memory,
        "ingest": engine_benches.bench_ingest_vs_influxdb,
        "write_memory": engine_benches.bench_write_memory,
    }
    only = {FIGURES.get(name, name) for name in args.only}
    unknown = only - set(benches)
    if unknown:
        parser.error(f"unknown --only {', '.join(sorted(unknown))}")
    workdir = tempfile.mkdtemp(prefix="kapacitord-bench-")
    run = Run(workdir, args.seconds)
    ok = True
    try:
        for name, bench in benches.items():
            if only and name not in only:
                continue
            ok = all(bench(run)) and ok
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.abuse:
        # The abuse tests read KAPACITORD_ABUSE_LONG: more examples, more rounds.
        rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "-o", "addopts=",
                              os.path.join(ROOT, "tests", "abuse"),
                              os.path.join(ROOT, "tests", "tasks", "test_fuzz_tasks_api.py")],
                             env=dict(os.environ, KAPACITORD_ABUSE_LONG="1"), cwd=ROOT)
        ok = ok and rc == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
