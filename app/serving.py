"""gunicorn's gthread worker with a pool whose N threads always stay free for ordinary requests.

A board's Server-Sent Events stream lasts as long as the TV is on. Under the stock gthread worker each one
holds a pool thread for good, so N open boards leave no thread for the tablets. Here a request that becomes
a long-lived stream calls release_request_thread(): its thread leaves the pool's count and a fresh thread
takes its slot, so the pool always has its N threads for tablets. The stream goes on in the released
thread, which mostly sleeps on a condition (app.board.notifier) and ends with the stream. How many streams
a process may carry is the board's own cap (BOARD_STREAMS_PER_PROCESS), checked before a stream starts.

Why threads and not an async worker (gevent): SQLite calls and the flock-based write queue
(app.database.WriteQueue) block, and one blocked call would stop every request of the process.

Under any other server (the test client, werkzeug's threaded server) release_request_thread() does nothing.
"""
import os
import queue
import threading
from concurrent import futures

from gunicorn.workers.gthread import ThreadWorker

_local = threading.local()
_STOP = object()


class SlotPool(futures.Executor):
    """An executor of `slots` threads over one queue; a released thread's slot goes to a fresh thread."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._stopped = False
        self.released = 0  # threads serving released (long-lived) requests right now
        for _ in range(slots):
            self._spawn()

    def submit(self, fn, /, *args, **kwargs) -> futures.Future:
        """Queue fn for the next free slot thread."""
        if self._stopped:
            raise RuntimeError("the pool is shut down")
        future: futures.Future = futures.Future()
        self._work.put((future, fn, args, kwargs))
        return future

    def release_current(self) -> bool:
        """The calling thread (one of ours) stops counting as a slot; a fresh thread takes the slot."""
        if getattr(_local, "pool", None) is not self or _local.released:
            return False
        _local.released = True
        with self._lock:
            self.released += 1
        self._spawn()
        return True

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Slot threads end after their current request; released ones end with their stream."""
        self._stopped = True
        for _ in range(self.slots):
            self._work.put(_STOP)

    def _spawn(self) -> None:
        threading.Thread(target=self._serve, name="gthread-slot", daemon=True).start()

    def _serve(self) -> None:
        _local.pool, _local.released = self, False
        while True:
            item = self._work.get()
            if item is _STOP:
                return
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:  # handed to gunicorn's done-callback, as ThreadPoolExecutor does
                future.set_exception(error)
            else:
                future.set_result(result)
            if _local.released:  # this thread's slot went to another thread when its request became a stream
                with self._lock:
                    self.released -= 1
                return


class StreamingThreadWorker(ThreadWorker):
    """gthread with a SlotPool: long-lived streams never take the threads that ordinary requests need; and,
    unless FLOORBOOK_STREAM_PROCESS=0, a stream process of its own that board streams are handed to
    (app.stream_host), so that they do not take the worker's CPU either."""

    def init_process(self) -> None:
        if os.environ.get("FLOORBOOK_STREAM_PROCESS", "1") != "0":
            from app.stream_host import fork_stream_process
            fork_stream_process(self.app.wsgi)  # before the app is loaded and any thread started
        super().init_process()

    def get_thread_pool(self) -> SlotPool:
        return SlotPool(self.cfg.threads)


def release_request_thread() -> bool:
    """Called by a request that turns into a long-lived stream; True when its pool slot went to a fresh
    thread (under StreamingThreadWorker), False elsewhere (nothing to do)."""
    pool = getattr(_local, "pool", None)
    return pool.release_current() if pool is not None else False
