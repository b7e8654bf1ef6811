"""A client that dribbles one byte per second must not hold up anyone else."""

import socket
import threading
import time

from tests.support.daemon import Daemon, free_port, write_config


def test_slow_client_does_not_block_others(tmp_path):
    port = free_port()
    conf = write_config(tmp_path / "k.conf", tmp_path / "data", port, auth=False)
    with Daemon(conf, port) as d:
        stop = threading.Event()
        sent = []

        def dribble():
            request = b"GET /kapacitor/v1/ping HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
            with socket.create_connection(("127.0.0.1", port)) as s:
                for byte in request:
                    if stop.is_set():
                        return
                    s.sendall(bytes([byte]))
                    sent.append(byte)
                    time.sleep(0.25)

        slow = [threading.Thread(target=dribble, daemon=True) for _ in range(5)]
        for t in slow:
            t.start()
        try:
            time.sleep(0.5)
            worst = 0.0
            for _ in range(20):
                start = time.perf_counter()
                status, _h, _b = d.request("GET", "/kapacitor/v1/ping", timeout=5)
                worst = max(worst, time.perf_counter() - start)
                assert status == 204
                time.sleep(0.05)
            assert worst < 0.5, worst
            assert len(sent) >= 10, "the slow clients really were sending"
        finally:
            stop.set()
            for t in slow:
                t.join(5)
