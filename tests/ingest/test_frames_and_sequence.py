"""The workers' pipe frames survive any cut of the byte stream, and the
write sequence lets writes publish only in the order they arrived."""

from __future__ import annotations

import marshal

import pytest
from twisted.internet import defer

from kapacitord_tw.ingest import frames
from kapacitord_tw.ingest.sequence import WriteSequence

MESSAGES = [
    (frames.READY, 12),
    (frames.ROWS, 1, [("cpu", (("host", "a"),))], [(0, {"v": 1.5}, 2**62)]),
    (frames.DONE, 1, 1, 20),
    (frames.FAILED, 2, "syntax", 400, b"unable to parse 'x': missing fields", 0, 1),
    (frames.RESET,),
]
STREAM = b"".join(frames.frame(m) for m in MESSAGES)


@pytest.mark.parametrize("piece", [1, 2, 3, 5, 7, 64, len(STREAM)])
def test_frames_come_out_whole_however_the_stream_is_cut(piece):
    reader = frames.FrameReader()
    out = []
    for start in range(0, len(STREAM), piece):
        out.extend(reader.feed(STREAM[start:start + piece]))
    assert out == MESSAGES


def test_a_frame_larger_than_the_limit_is_refused():
    reader = frames.FrameReader(max_frame=100)
    with pytest.raises(frames.FrameError):
        list(reader.feed(frames.frame((frames.ROWS, b"x" * 200))))


def test_garbage_is_a_frame_error():
    data = b"\x00\x00\x00\x04" + b"\xff\xff\xff\xff"
    with pytest.raises(frames.FrameError):
        list(frames.FrameReader().feed(data))


def test_interned_field_keys_travel_once_per_frame():
    import sys

    key = sys.intern("usage_idle_" + "x")
    rows = [(0, {key: float(i)}, i) for i in range(100)]
    assert marshal.dumps(rows).count(b"usage_idle_x") == 1


def test_many_frames_in_one_chunk_are_read_in_linear_time():
    import time

    stream = frames.frame((frames.RESET,)) * 200_000
    started = time.thread_time()
    assert sum(1 for _ in frames.FrameReader().feed(stream)) == 200_000
    assert time.thread_time() - started < 2.0  # about 0.1 s; quadratic: minutes


def fired(d: defer.Deferred) -> bool:
    out = []
    d.addBoth(out.append)
    return bool(out)


def test_turns_come_in_ticket_order_whatever_order_writes_finish_in():
    seq = WriteSequence()
    tickets = [seq.take() for _ in range(4)]
    published = []

    def publish(ticket):
        def go(_):
            published.append(ticket)
            seq.release(ticket)
        return go

    # Writes 3, 1 and 2 finish parsing before write 0.
    for t in (3, 1, 2):
        seq.turn(t).addCallback(publish(t))
    assert published == []
    seq.turn(0).addCallback(publish(0))
    assert published == [0, 1, 2, 3]


def test_a_released_ticket_without_a_turn_lets_the_next_go():
    seq = WriteSequence()
    first, second = seq.take(), seq.take()
    turn = seq.turn(second)
    assert not fired(turn)
    seq.release(first)  # refused or cancelled before its turn
    assert fired(turn)


def test_a_cancelled_turn_still_needs_its_release():
    seq = WriteSequence()
    first, second, third = seq.take(), seq.take(), seq.take()
    waiting = seq.turn(second)
    later = seq.turn(third)
    waiting.cancel()
    waiting.addErrback(lambda f: f.trap(defer.CancelledError))
    seq.release(first)
    assert not fired(later)
    seq.release(second)
    assert fired(later)


def test_thousands_of_waiting_writes_are_released_without_recursion():
    seq = WriteSequence()
    tickets = [seq.take() for _ in range(5000)]
    done = []
    for t in tickets[1:]:
        seq.turn(t).addCallback(lambda _, t=t: (done.append(t), seq.release(t)))
    seq.release(tickets[0])
    assert len(done) == 4999 and done == sorted(done)
    assert seq.waiting == 0
