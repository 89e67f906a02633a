"""The stream process: board streams served beside a gunicorn worker, not in it.

A board stream costs CPU for as long as its TV is on: at every change it is woken, takes the area's render
and writes it to its socket. In the worker that serves the tablets, 200 streams took a third of a core and,
sharing the GIL, made `/healthz` and autosave wait (bench/board_streams.py). So each worker forks, before it
loads the app, one stream process of its own, niced. The worker's view for `/board/<token>/events` checks the
token, then hands the client's socket to that process over a Unix socket (SCM_RIGHTS) and forgets it; the
stream process admits the stream (its caps, 429 beyond), writes the response head and serves it by the same
rules as the worker would (app.board.stream.BoardStream), from one thread for all of its streams (Pump). The
process ends with its worker (PR_SET_PDEATHSIG, and the end of the channel); its TVs then reconnect, as after
any restart. A commit in the worker that changed the board sends the process a kick over the same channel, so
its streams wake at once, as in the worker.

Not under TLS served by gunicorn itself (a TLS connection's state cannot be handed over): streams then stay
in the worker, as under any other server (the test client, werkzeug).
"""
import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask

from app.extensions import db
from app.transport import HSTS

if TYPE_CHECKING:
    from app.board.stream import BoardStream

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_NICE = 10
_KICK = b"kick"
_channel: socket.socket | None = None
_send_lock = threading.Lock()
_HEAD = ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\n"
         "X-Accel-Buffering: no\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n")  # then HSTS, if any


def fork_stream_process(load_app) -> int:
    """In a gunicorn worker that has no threads yet: fork the stream process; its pid. load_app() returns
    the WSGI app (called in the child only)."""
    global _channel
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid:
        child.close()
        _channel = parent
        return pid
    parent.close()
    code = 0
    try:
        _become_stream_process()
        serve(load_app(), child)
    except BaseException:  # the worker logs nothing of ours: say why on stderr, as gunicorn's own errors go
        import traceback
        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


def _become_stream_process() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                signal.SIGCHLD, signal.SIGTTIN, signal.SIGTTOU, signal.SIGWINCH):
        signal.signal(sig, signal.SIG_DFL)  # the master's handlers, inherited through the worker
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    os.nice(_NICE)  # the tablets' worker comes first when the cores are busy


def hand_off(environ: dict, screen_id: int, area_id: int | None, since: int | None) -> bool:
    """Give this request's connection to the stream process; False when there is none (or under TLS), and
    the stream is to be served here."""
    sock = environ.get("gunicorn.socket")
    if _channel is None or sock is None or isinstance(sock, ssl.SSLSocket):
        return False
    # Over TLS ended at a trusted proxy (X-Forwarded-Proto, gunicorn's forwarded_allow_ips): HSTS, as app.transport.
    secure = environ.get("wsgi.url_scheme") == "https"
    message = json.dumps({"screen": screen_id, "area": area_id, "since": since, "secure": secure}).encode()
    try:
        with _send_lock:
            socket.send_fds(_channel, [message], [sock.fileno()])
    except OSError:  # the stream process is gone: serve it here
        return False
    # The worker's descriptor now names a dead end: what gunicorn writes and closes is not the TV's.
    dead, other_end = socket.socketpair()
    os.dup2(dead.fileno(), sock.fileno())
    dead.close()
    other_end.close()
    return True


def _hsts(asked: dict) -> str:
    """The HSTS header line for a stream asked over TLS, else nothing."""
    return f"Strict-Transport-Security: {HSTS}\r\n" if asked.get("secure") else ""


def kick() -> None:
    """A commit of this worker wrote a board change: its stream process reads the feed now, as the worker's own
    streams would (PostgreSQL's NOTIFY reaches it anyway; on SQLite it would wait for the 0.5 s poll)."""
    if _channel is not None:
        try:
            _channel.send(_KICK, socket.MSG_DONTWAIT)
        except OSError:  # gone, or a backlog of kicks: the poll reads the feed anyway
            pass


def serve(app: Flask, channel: socket.socket) -> None:
    """Receive connections (and kicks) until the worker closes the channel; one thread serves every stream."""
    from app.board.notifier import notifier_for

    pump = Pump(app)
    while True:
        message, fds, _flags, _address = socket.recv_fds(channel, 4096, 1)
        if not message:
            return
        if message == _KICK:
            notifier_for(app).kick()
            continue
        for fd in fds:
            pump.admit(socket.socket(fileno=fd), json.loads(message))


@dataclass
class _Open:
    sock: socket.socket
    stream: "BoardStream"
    pending: bytearray


class Pump:
    """Every stream of the process, served from one thread: a change costs one look per stream (strings from
    the area's shared render) and one non-blocking write, not a thread woken per stream. A TV that stops
    reading does not hold up the others: beyond BACKLOG unsent bytes its stream is dropped, and the TV
    reconnects from the last position it showed (Last-Event-ID)."""

    BACKLOG = 1 << 20

    def __init__(self, app: Flask) -> None:
        from app.board.notifier import notifier_for

        self.app, self.notifier = app, notifier_for(app)
        self._lock = threading.Lock()
        self._incoming: list[_Open] = []
        self._thread: threading.Thread | None = None

    def admit(self, sock: socket.socket, asked: dict) -> None:
        """Admit one handed-over connection (429 beyond the caps) and start its stream."""
        from app.board.notifier import Refused
        from app.board.stream import OPENING, BoardStream

        with self.app.app_context():
            try:
                ticket = self.notifier.admit(asked["screen"], asked["area"])
            except Refused as refused:
                body = f"{refused}\n".encode()
                with sock, contextlib.suppress(OSError):
                    sock.sendall((f"HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                  f"Retry-After: {refused.retry_after}\r\nCache-Control: no-store\r\n{_hsts(asked)}"
                                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
                return
            finally:
                db.session.remove()
        stream = BoardStream(ticket, asked["since"], self.notifier, self.app.config)
        sock.setblocking(False)
        with self._lock:
            head = f"{_HEAD}{_hsts(asked)}\r\n{OPENING}"
            self._incoming.append(_Open(sock, stream, bytearray(head.encode())))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="board-streams", daemon=True)
                self._thread.start()
        self.notifier.wake()

    def _run(self) -> None:
        streams: list[_Open] = []
        with self.app.app_context():
            while True:
                with self._lock:
                    streams += self._incoming
                    self._incoming = []
                if self.notifier.closed:  # shutting down: every TV reconnects to the next process
                    for one in streams:
                        self._end(one)
                    return
                version, now = self.notifier.version, time.monotonic()
                streams = [one for one in streams if self._serve(one, version, now)]
                self.notifier.wait(version, timeout=self._timeout(streams, time.monotonic()))

    def _serve(self, one: _Open, version: int, now: float) -> bool:
        """Look if due and write what is pending; False once the stream has ended (and is closed). A stream that
        ended (revoked) goes once its last event is written."""
        try:
            if not one.stream.done and one.stream.ready(version, now):
                one.pending += "".join(one.stream.look(now)).encode()
            if one.pending:
                del one.pending[:one.sock.send(one.pending)]
        except (BlockingIOError, InterruptedError):  # the TV's socket buffer is full: the rest goes later
            pass
        except OSError:  # the TV went away
            return self._end(one)
        except Exception:  # a failed look (the database restarting): this TV reconnects, the others go on
            log.warning("board stream failed", exc_info=True)
            return self._end(one)
        if (one.stream.done and not one.pending) or len(one.pending) > self.BACKLOG:
            return self._end(one)  # ended, or too far behind: the TV reconnects from what it showed
        return True

    @staticmethod
    def _end(one: _Open) -> bool:
        one.stream.ticket.release()
        one.sock.close()
        return False

    @staticmethod
    def _timeout(streams: list[_Open], now: float) -> float:
        """Seconds until some stream must look (or write again) even if the feed does not move."""
        if not streams:
            return 1.0
        if any(one.pending for one in streams):
            return 0.05
        return min(1.0, max(0.005, min(one.stream.wakes_at(now) for one in streams) - now))
