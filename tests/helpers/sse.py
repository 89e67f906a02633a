"""A small Server-Sent Events reader over http.client for stream tests (no browser needed)."""
import http.client
import queue
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Message:
    """One SSE message."""

    event: str
    data: str
    id: str | None


class EventStream:
    """Open url and parse messages on a background thread; read them with next_event()."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 30.0):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        self.sock = self.conn.sock  # the response takes it over when the server will close the connection
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.getheaders())
        self.messages: queue.Queue[Message | None] = queue.Queue()
        self.local_port = self.sock.getsockname()[1] if self.sock else None
        if self.status == 200:
            threading.Thread(target=self._read, args=(self.response,), daemon=True).start()

    def _read(self, lines) -> None:
        fields: dict[str, list[str]] = {}
        try:
            for raw in lines:
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if "event" in fields or "data" in fields:
                        self.messages.put(Message(fields.get("event", ["message"])[-1],
                                                  "\n".join(fields.get("data", [])), fields.get("id", [None])[-1]))
                    fields = {}
                    continue
                name, _, value = line.partition(":")
                if name:
                    fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
        except (OSError, ValueError, AttributeError, http.client.HTTPException):  # closed by us or the server
            pass
        self.messages.put(None)  # the stream ended

    def next_event(self, event: str, timeout: float = 5.0) -> Message | None:
        """The next message of this event type (skipping others); None when the stream ended; raises on timeout."""
        while True:
            message = self.messages.get(timeout=timeout)
            if message is None or message.event == event:
                return message

    def close(self) -> None:
        """Drop the connection (shut down first: the reader thread holds the response's lock while it waits
        for data, so a bare close would wait for the server's next message)."""
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.conn is not None:
            self.conn.close()


class SocketStream(EventStream):
    """The same reader over a socket that is already the TV's end of a stream (no request to send)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.conn, self.local_port = sock, None, None
        lines = sock.makefile("rb")
        self.status = int(lines.readline().split()[1])
        self.headers = {}
        for raw in iter(lines.readline, b"\r\n"):
            if not raw:
                break  # closed before the head ended
            name, _, value = raw.decode().partition(":")
            self.headers[name] = value.strip()
        self.messages = queue.Queue()
        threading.Thread(target=self._read, args=(lines,), daemon=True).start()
