"""``JournalStore``: the durable store behind users, tasks and templates.

Design, in the order the requirements forced it:

* **Durability.**  Every mutation appends a checksummed line to one journal
  file and its Deferred fires only after ``fsync``; a batch ends with a commit
  line, so a crash can only leave a torn, never-acknowledged last batch,
  which the next start-up cuts off (see :mod:`.records`).
* **Never block the reactor.**  Writes and fsyncs run in a thread pool.
  While one batch is being written, later mutations queue up and go out
  together with one fsync (group commit); Deferreds fire in call order.
* **Cost independent of size.**  A mutation appends its own line only.  The
  journal is compacted (live lines rewritten to ``<file>.tmp``, fsynced,
  renamed over the journal, directory fsynced) once it is larger than
  ``compact_ratio`` × the live data + ``compact_floor``, so rewriting is
  amortised.  The snapshot is a shallow copy of the (immutable) lines taken on
  the reactor thread; joining and writing happen in a thread.  Batches written
  meanwhile go to the old journal *and* are replayed into the new file just
  before the swap (replaying blind puts/deletes over a state that already
  holds some of them is harmless), so nothing acknowledged is ever lost.
* **Consistency.**  Mutations change the in-memory state at once, on the
  reactor thread, in call order: a ``create`` sees earlier pending creates
  and read-modify-write in one reactor turn (``update``) cannot lose updates.
  Answers that depend on earlier mutations (``create`` → False, ``delete`` →
  False) also wait until those earlier mutations are durable.
* **Write failure.**  If a write or fsync fails (a full disk), the batch's
  Deferreds and those of every mutation queued behind it errback with
  :class:`StoreWriteError`, and their in-memory changes are undone, newest
  first, so reads show the acknowledged state again.  The journal is cut
  back to its last acknowledged byte (and fsynced), so no half-written
  record is left to corrupt it, and later writes are tried again: once
  space is freed they succeed without a restart.  Only when that cut fails
  (or a compaction's rename fails) is the store marked failed and every
  later mutation refused until a restart; the journal on disk still loads
  to the last acknowledged state.
"""

from __future__ import annotations

import gc
import os
import stat

import attr
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger, LogLevel
from zope.interface import implementer

from ..globmatch import matcher as glob_matcher
from . import files, records
from .errors import StoreClosed, StoreCorrupted, StoreError, StoreLocked, StoreWriteError
from .interface import IStore
from .namespace import Namespace

DEFAULT_FILENAME = "kapacitor.journal"
DEFAULT_COMPACT_FLOOR = 1 << 20
DEFAULT_COMPACT_RATIO = 2.0


@attr.s(frozen=True, slots=True)
class StoreStats:
    """Counters of a store at one moment."""

    fsyncs = attr.ib()  # fsync calls made since open (appends, compactions, directories)
    batches = attr.ib()  # group-commit batches appended since open
    compactions = attr.ib()  # compactions completed since open
    file_size = attr.ib()  # bytes in the journal file
    live_bytes = attr.ib()  # bytes the live records would take in a compacted journal
    records = attr.ib()  # keys in all namespaces


class _Compaction:
    """Bookkeeping of the compaction in progress (reactor thread only)."""

    __slots__ = ("tail", "fd", "size", "ready", "waiters", "stale")

    def __init__(self, tail: list[bytes]) -> None:
        self.tail = tail  # batches appended since the snapshot, to replay before the swap
        self.fd: int | None = None
        self.size = 0
        self.ready = False  # snapshot written and fsynced, waiting for its turn to swap
        self.waiters: list[Deferred] = []
        self.stale = False  # the snapshot holds changes since undone: never swap it in


def _write_snapshot(tmp_path: str, chunks: list[list[bytes]]) -> tuple[int, int, int]:
    data = records.snapshot_bytes(chunks)
    fd, fsyncs = files.write_new_file(tmp_path, data)
    return fd, len(data), fsyncs


def _load_without_gc(data: bytes, path: str):
    """:func:`records.load` with the cyclic GC paused: decoding every record
    allocates containers by the hundred thousand, all freed at once by
    reference counting, yet each allocation burst triggers a collection
    that walks the growing store (a tenth of the load's time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return records.load(data, path)
    finally:
        if enabled:
            gc.enable()


def _matcher(pattern):
    if pattern is None or callable(pattern):
        return pattern
    if isinstance(pattern, str):
        return glob_matcher(pattern)
    raise TypeError("pattern must be None, a str or a callable")


@implementer(IStore)
class JournalStore:
    """An append-only JSON journal with group commit; see the module docstring."""

    log = Logger()

    def __init__(self, path, reactor, threadpool, fd, loaded, file_size, *,
                 compact_floor=DEFAULT_COMPACT_FLOOR, compact_ratio=DEFAULT_COMPACT_RATIO):
        """Use :meth:`open`; this only wires up state that ``open`` recovered."""
        self.path = path
        self._tmp_path = path + ".tmp"
        self._reactor = reactor
        self._pool = threadpool if threadpool is not None else reactor.getThreadPool()
        self._fd = fd
        self._namespaces: dict[str, Namespace] = loaded.namespaces
        self._live_bytes = loaded.live_bytes
        self._file_size = file_size
        self._compact_floor = compact_floor
        self._compact_ratio = compact_ratio
        self._compaction_retry_size = 0
        self._queue_lines: list[bytes] = []
        self._queue_waiters: list[tuple[Deferred, object]] = []
        # (namespace, key, line before) per queued in-memory change, to undo it.
        self._queue_undo: list[tuple[str, str, bytes | None]] = []
        self._busy = False  # a batch append or a compaction swap is running
        self._in_flight: bytes | None = None
        self._compaction: _Compaction | None = None
        self._failure: StoreWriteError | None = None
        self._closing = False
        self._closed = False
        self._close_waiters: list[Deferred] = []
        self._fsyncs = 0
        self._batches = 0
        self._compactions = 0

    # -- opening -----------------------------------------------------------

    @classmethod
    def open(cls, path, reactor, threadpool=None, *,
             compact_floor=DEFAULT_COMPACT_FLOOR, compact_ratio=DEFAULT_COMPACT_RATIO):
        """Open (creating if missing) the journal at *path* and load it, synchronously.

        Meant for start-up.  Missing parent directories are created (0755) and
        a new journal is created 0600.  A torn tail left by a crash is cut off
        with a warning; anything else wrong raises :class:`StoreCorrupted`
        (naming the file and line), and a journal held by another process
        raises :class:`StoreLocked`.  *threadpool* defaults to the reactor's.
        """
        path = os.path.abspath(os.fspath(path))
        cls._create_if_missing(path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        except OSError as e:
            raise StoreCorrupted(path, None, f"cannot open: {e.strerror or e}") from e
        try:
            if not files.lock(fd):
                raise StoreLocked(path)
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise StoreCorrupted(path, None, "not a regular file")
            cls._remove_stale_compaction(path)
            try:
                data = files.read_all(fd)
            except OSError as e:
                raise StoreCorrupted(path, None, f"cannot read: {e.strerror or e}") from e
            loaded = _load_without_gc(data, path)
            size = len(data)
            if loaded.torn is not None:
                torn = loaded.torn
                cls.log.warn(
                    "Store {path}: discarding a torn tail of {discarded_bytes} bytes from line {line} "
                    "({reason}), left by a crash; it was never acknowledged",
                    path=path, line=torn.line, reason=torn.reason, discarded_bytes=torn.discarded_bytes)
                os.ftruncate(fd, loaded.committed_end)
                os.fsync(fd)
                size = loaded.committed_end
            if mode & 0o077:
                cls.log.warn("Store {path} is accessible by other users (mode {mode:o}); "
                             "it holds password hashes", path=path, mode=stat.S_IMODE(mode))
        except BaseException:
            os.close(fd)
            raise
        return cls(path, reactor, threadpool, fd, loaded, size,
                   compact_floor=compact_floor, compact_ratio=compact_ratio)

    @classmethod
    def _create_if_missing(cls, path: str) -> None:
        """Create the directory (0755) and an empty journal (0600), durably, if missing.

        The journal is written under a private name and hard-linked into
        place, so the file at *path* always has its header and a concurrent
        creator can never replace a journal already in use.
        """
        directory = os.path.dirname(path)
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=files.DIR_MODE, exist_ok=True)
                files.fsync_dir(os.path.dirname(directory))
            if os.path.lexists(path):
                return
            new_path = f"{path}.{os.getpid()}.new"
            fd, _ = files.write_new_file(new_path, records.HEADER_LINE + b"\n")
            os.close(fd)
            try:
                os.link(new_path, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(new_path)
            files.fsync_dir(directory)
        except OSError as e:
            raise StoreError(f"cannot create store file {path}: {e.strerror or e}") from e

    @classmethod
    def _remove_stale_compaction(cls, path: str) -> None:
        """Remove what an interrupted compaction left (only ever called with the lock held)."""
        tmp_path = path + ".tmp"
        if os.path.lexists(tmp_path):
            cls.log.info("Store {path}: removing {tmp_path} left by an interrupted compaction",
                         path=path, tmp_path=tmp_path)
            os.unlink(tmp_path)

    # -- reads ---------------------------------------------------------------

    def get_now(self, namespace, key):
        ns = self._namespaces.get(namespace)
        line = ns.entries.get(key) if ns is not None else None
        return None if line is None else records.value_of(line)

    def get(self, namespace, key):
        return succeed(self.get_now(namespace, key))

    def keys(self, namespace):
        ns = self._namespaces.get(namespace)
        return ns.keys() if ns is not None else []

    def count(self, namespace):
        ns = self._namespaces.get(namespace)
        return len(ns.entries) if ns is not None else 0

    def namespaces(self):
        """Names of the non-empty namespaces, sorted."""
        return sorted(self._namespaces)

    def list(self, namespace, pattern=None, offset=0, limit=None):
        match = _matcher(pattern)
        ns = self._namespaces.get(namespace)
        if ns is None:
            return succeed([])
        entries = ns.entries
        return succeed([(k, records.value_of(entries[k])) for k in ns.page(match, offset, limit)])

    def snapshot_bytes(self):
        """The whole store as a compacted journal, sorted; includes mutations not yet durable."""
        return records.snapshot_bytes(
            [self._namespaces[name].entries[k] for _, k in self._namespaces[name].order]
            for name in sorted(self._namespaces))

    @property
    def stats(self):
        return StoreStats(
            fsyncs=self._fsyncs, batches=self._batches, compactions=self._compactions,
            file_size=self._file_size, live_bytes=self._live_bytes,
            records=sum(len(ns.entries) for ns in self._namespaces.values()))

    # -- mutations -----------------------------------------------------------

    def put(self, namespace, key, value):
        refusal = self._refusal()
        if refusal is not None:
            return fail(refusal)
        line = records.put_line(namespace, key, value)
        old = self._set(namespace, key, line)
        return self._enqueue(line, None, (namespace, key, old))

    def create(self, namespace, key, value):
        refusal = self._refusal()
        if refusal is not None:
            return fail(refusal)
        line = records.put_line(namespace, key, value)
        ns = self._namespaces.get(namespace)
        if ns is not None and key in ns.entries:
            return self._enqueue(None, False)
        self._set(namespace, key, line)
        return self._enqueue(line, True, (namespace, key, None))

    def update(self, namespace, key, function):
        refusal = self._refusal()
        if refusal is not None:
            return fail(refusal)
        ns = self._namespaces.get(namespace)
        old = ns.entries.get(key) if ns is not None else None
        if old is None:
            return self._enqueue(None, None)
        try:
            line = records.put_line(namespace, key, function(records.value_of(old)))
        except Exception:
            return fail()
        self._set(namespace, key, line)
        return self._enqueue(line, records.value_of(line), (namespace, key, old))

    def delete(self, namespace, key):
        refusal = self._refusal()
        if refusal is not None:
            return fail(refusal)
        ns = self._namespaces.get(namespace)
        old = ns.remove(key) if ns is not None else None
        if old is None:
            return self._enqueue(None, False)
        self._live_bytes -= len(old) + 1
        if not ns.entries:
            del self._namespaces[namespace]
        return self._enqueue(records.delete_line(namespace, key), True, (namespace, key, old))

    def compact(self):
        """Compact now (or join the compaction under way); Deferred fires True once swapped in."""
        refusal = self._refusal()
        if refusal is not None:
            return fail(refusal)
        d = Deferred()
        if self._compaction is not None:
            self._compaction.waiters.append(d)
        else:
            self._start_compaction(d)
        return d

    def close(self):
        d = Deferred()
        self._close_waiters.append(d)
        if self._closed:
            self._finish_close()
        else:
            self._closing = True
            self._kick()
        return d

    # -- internals: state ----------------------------------------------------

    def _refusal(self):
        if self._closing:
            return StoreClosed(f"store {self.path} is closed")
        if self._failure is not None:
            return StoreWriteError(f"store {self.path} can no longer be written: {self._failure}")
        return None

    def _set(self, namespace, key, line):
        ns = self._namespaces.get(namespace)
        if ns is None:
            ns = self._namespaces[namespace] = Namespace()
        old = ns.set(key, line)
        self._live_bytes += len(line) + 1 - (len(old) + 1 if old is not None else 0)
        return old

    def _undo(self, undo) -> None:
        """Put back what queued changes replaced, newest first."""
        for namespace, key, old in reversed(undo):
            if old is not None:
                self._set(namespace, key, old)
                continue
            ns = self._namespaces.get(namespace)
            removed = ns.remove(key) if ns is not None else None
            if removed is not None:
                self._live_bytes -= len(removed) + 1
                if not ns.entries:
                    del self._namespaces[namespace]

    # -- internals: the write lane ---------------------------------------------

    def _enqueue(self, line, result, undo=None):
        d = Deferred()
        if line is not None:
            self._queue_lines.append(line)
            self._queue_undo.append(undo)
        self._queue_waiters.append((d, result))
        self._kick()
        return d

    def _kick(self):
        """Start the next file operation unless one is running; one at a time, in order."""
        if self._busy:
            return
        if self._failure is None:
            compaction = self._compaction
            if compaction is not None and compaction.ready:
                self._swap(compaction)
                return
            if self._queue_lines:
                self._append_batch()
                return
            if self._queue_waiters:
                # Answers that wrote nothing, queued behind writes now durable.
                waiters, self._queue_waiters = self._queue_waiters, []
                self._fire(waiters)
        if (self._closing and not self._closed and not self._busy
                and self._compaction is None and not self._queue_waiters):
            self._finish_close()

    def _append_batch(self):
        lines, waiters, undo = self._queue_lines, self._queue_waiters, self._queue_undo
        self._queue_lines, self._queue_waiters, self._queue_undo = [], [], []
        data = records.batch_bytes(lines)
        if self._compaction is not None:
            self._compaction.tail.append(data)
        self._busy = True
        self._in_flight = data
        d = deferToThreadPool(self._reactor, self._pool, files.append_durably, self._fd, data)
        d.addCallbacks(self._appended, self._append_failed,
                       callbackArgs=(waiters, len(data)), errbackArgs=(waiters, undo))

    def _appended(self, fsyncs, waiters, size):
        self._busy = False
        self._in_flight = None
        self._fsyncs += fsyncs
        self._batches += 1
        self._file_size += size
        self._fire(waiters)
        self._maybe_compact()
        self._kick()

    def _append_failed(self, failure, waiters, undo):
        """Refuse the batch and everything queued behind it, undo their
        changes in memory, and cut the journal back to its acknowledged end."""
        self._in_flight = None
        message = f"cannot write store {self.path}: {failure.getErrorMessage()}"
        self.log.failure("Store {path}: a write failed; {count} change(s) refused and undone, "
                         "the journal is cut back to its last acknowledged record",
                         failure, level=LogLevel.error, path=self.path,
                         count=len(waiters) + len(self._queue_waiters))
        self._refuse_queued(failure, message, waiters, undo)
        if self._compaction is not None:
            # Its snapshot or tail may hold what was just undone.
            self._compaction.stale = True
            if self._compaction.ready:
                self._abandon(self._compaction)
        d = deferToThreadPool(self._reactor, self._pool, files.truncate_durably,
                              self._fd, self._file_size)
        d.addCallbacks(self._recovered, self._recovery_failed, errbackArgs=(failure,))

    def _refuse_queued(self, failure, message, waiters=(), undo=()):
        """Errback *waiters* and all queued mutations, undoing their changes."""
        waiters = [*waiters, *self._queue_waiters]
        self._undo([*undo, *self._queue_undo])
        self._queue_lines, self._queue_waiters, self._queue_undo = [], [], []
        for d, _ in waiters:
            error = StoreWriteError(message)
            error.__cause__ = failure.value
            d.errback(error)

    def _recovered(self, fsyncs):
        self._busy = False
        self._fsyncs += fsyncs
        self.log.info("Store {path}: journal cut back to {size} bytes; writes are tried again",
                      path=self.path, size=self._file_size)
        self._kick()

    def _recovery_failed(self, failure, cause):
        self._busy = False
        self._fail(failure)

    def _fail(self, failure, waiters=()):
        """Stop accepting writes: the file no longer matches what was acknowledged."""
        message = f"cannot write store {self.path}: {failure.getErrorMessage()}"
        if self._failure is None:
            self._failure = StoreWriteError(message)
            self.log.failure("Store {path} failed; further changes are refused until a restart "
                             "(the journal on disk holds every acknowledged change)",
                             failure, path=self.path)
        self._refuse_queued(failure, message, waiters)
        if self._compaction is not None and self._compaction.ready:
            self._abandon(self._compaction)
        self._kick()

    @staticmethod
    def _fire(waiters):
        for d, result in waiters:
            d.callback(result)

    # -- internals: compaction -------------------------------------------------

    def _maybe_compact(self):
        if self._compaction is not None or self._failure is not None or self._closing:
            return
        threshold = self._compact_ratio * self._live_bytes + self._compact_floor
        if self._file_size > max(threshold, self._compaction_retry_size):
            self._start_compaction()

    def _start_compaction(self, waiter=None):
        compaction = _Compaction([self._in_flight] if self._in_flight is not None else [])
        if waiter is not None:
            compaction.waiters.append(waiter)
        self._compaction = compaction
        # Lines are immutable bytes, so copying the references is a consistent snapshot.
        chunks = [list(ns.entries.values()) for ns in self._namespaces.values()]
        d = deferToThreadPool(self._reactor, self._pool, _write_snapshot, self._tmp_path, chunks)
        d.addCallbacks(self._snapshot_written, self._snapshot_failed,
                       callbackArgs=(compaction,), errbackArgs=(compaction,))

    def _snapshot_written(self, result, compaction):
        compaction.fd, compaction.size, fsyncs = result
        self._fsyncs += fsyncs
        if self._failure is not None or compaction.stale:
            self._abandon(compaction)
        else:
            compaction.ready = True
        self._kick()

    def _snapshot_failed(self, failure, compaction):
        self.log.failure("Store {path}: compaction failed; the journal keeps growing and "
                         "compaction is retried later", failure, level=LogLevel.warn, path=self.path)
        self._compaction_retry_size = self._file_size + self._compact_floor
        self._abandon(compaction)
        self._kick()

    def _abandon(self, compaction):
        files.discard(compaction.fd, self._tmp_path)
        self._compaction = None
        for d in compaction.waiters:
            d.callback(False)

    def _swap(self, compaction):
        self._busy = True
        tail = b"".join(compaction.tail)
        d = deferToThreadPool(self._reactor, self._pool, files.swap_in,
                              compaction.fd, self._tmp_path, self.path, tail)
        d.addCallbacks(self._swapped, self._swap_failed,
                       callbackArgs=(compaction, len(tail)), errbackArgs=(compaction,))

    def _swapped(self, fsyncs, compaction, tail_size):
        old_fd, self._fd = self._fd, compaction.fd
        os.close(old_fd)
        self._file_size = compaction.size + tail_size
        self._fsyncs += fsyncs
        self._compactions += 1
        self._busy = False
        self._compaction = None
        self.log.info("Store {path} compacted to {size} bytes", path=self.path, size=self._file_size)
        for d in compaction.waiters:
            d.callback(True)
        self._kick()

    def _swap_failed(self, failure, compaction):
        # The rename may or may not have happened, so appending to either file is unsafe.
        self._busy = False
        os.close(compaction.fd)
        self._compaction = None
        for d in compaction.waiters:
            d.callback(False)
        self._fail(failure)

    # -- internals: closing ------------------------------------------------------

    def _finish_close(self):
        if not self._closed:
            self._closed = True
            os.close(self._fd)
        waiters, self._close_waiters = self._close_waiters, []
        for d in waiters:
            d.callback(None)
