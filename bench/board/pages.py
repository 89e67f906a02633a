"""The kiosk pages of the board latency bench (bench/board_latency.py): headless Chromium pages on the kiosk
URL, each recording when its tiles change (a MutationObserver), and the matching of those records against
the changes the bench made.
"""
import re
import time
from dataclasses import dataclass, field

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
TOLERANCE = 0.05      # a DOM stamp this much before time zero still counts (the HTTP path's response clock)
STREAM_URL = re.compile(r".*/board/[^/]+/events(\?.*)?$")

# Stamps every change of a tile's data-status (out-of-band tile swaps and whole-body swaps alike).
OBSERVER = """
(() => {
  window.__fbLog = []; window.__fbOpen = false;
  const last = {};
  function scan() {
    const now = Date.now();
    for (const el of document.querySelectorAll('article[id^="tile-"]')) {
      const status = el.getAttribute('data-status');
      if (last[el.id] !== status) {
        if (last[el.id] !== undefined) {
          window.__fbLog.push([el.id, status, now]);
          if (window.__fbSeen) { window.__fbSeen(el.id, status, now); }
        }
        last[el.id] = status;
      }
    }
  }
  window.__fbOpens = 0; window.__fbErrors = 0;
  document.addEventListener('floorbook:stream-open', () => { window.__fbOpen = true; window.__fbOpens += 1; });
  document.addEventListener('floorbook:stream-error', () => { window.__fbErrors += 1; });
  document.addEventListener('DOMContentLoaded', () => {
    scan();
    new MutationObserver(scan).observe(document.body,
      {subtree: true, childList: true, attributes: true, attributeFilter: ['data-status']});
  });
})();
"""


# ---- boards ----------------------------------------------------------------------------------

class BoardPool:
    """Kiosk pages, one browser context each (each TV is its own browser, so no page shares another's
    6-connections-per-host cap). Pages are made once and re-pointed at each server: starting 50 Chromium
    renderers is the slow part on a small machine."""

    SMALL = {"width": 640, "height": 360}
    TV = {"width": 1920, "height": 1080}

    def __init__(self, browser) -> None:
        self.browser = browser
        self.contexts, self.pages, self.seen = [], [], []
        self.n = 0

    def _grow(self, n: int) -> None:
        while len(self.pages) < n:
            context = self.browser.new_context(viewport=self.SMALL)
            context.set_default_timeout(30_000)
            context.add_init_script(OBSERVER)
            seen: list[tuple[str, str, float]] = []
            context.expose_binding("__fbSeen", lambda _source, tile, status, at, seen=seen:
                                   seen.append((tile, status, at / 1000)))
            self.contexts.append(context)
            self.pages.append(context.new_page())
            self.seen.append(seen)

    def attach(self, url: str, n: int, block_stream: bool = False) -> None:
        """Point the first n pages at url and wait until every stream is open (with block_stream: the one
        page is refused its stream, so board.js polls the fragment instead)."""
        self.detach()
        self._grow(n)
        self.pages[0].set_viewport_size(self.TV if n == 1 else self.SMALL)
        if block_stream:
            self.pages[0].route(STREAM_URL, lambda route: route.abort())
        for page, seen in zip(self.pages[:n], self.seen):
            seen.clear()
            page.goto(url, wait_until="commit")  # it goes on loading while the next one is pointed
        self.n = n
        if block_stream:
            self.pages[0].wait_for_selector("body.board--polling", state="attached")
            return
        deadline = time.time() + 180
        for page in self.pages[:n]:  # (wait_for_function would evaluate a string: the board's CSP forbids it)
            while not self._ask(page, "window.__fbOpen === true"):
                if time.time() > deadline:
                    raise RuntimeError("a board's stream did not open within 180 s")
                page.wait_for_timeout(50)

    def detach(self) -> None:
        """Close the pages' streams (about:blank) and lift the stream block."""
        for page in self.pages[:self.n]:
            page.goto("about:blank")
        if self.pages:
            self.pages[0].unroute(STREAM_URL)
        self.n = 0

    @staticmethod
    def _ask(page, expression: str):
        try:
            return page.evaluate(expression)
        except Exception:  # still navigating: its execution context is not there yet
            return None

    @property
    def active_seen(self) -> list[list[tuple[str, str, float]]]:
        return self.seen[:self.n]

    def pump(self, ms: float) -> None:
        """Let Playwright deliver the pages' callbacks for ms milliseconds."""
        self.pages[0].wait_for_timeout(max(1, ms))

    def logs(self) -> list[list[tuple[str, str, float]]]:
        """Every page's own record of tile changes: [(tile id, status, seconds since the epoch)]."""
        return [[(tile, status, at / 1000) for tile, status, at in page.evaluate("window.__fbLog")]
                for page in self.pages[:self.n]]

    def stream_trouble(self) -> tuple[int, int]:
        """(reconnects, stream errors) the pages saw so far since they were attached."""
        opens = errors = 0
        for page in self.pages[:self.n]:
            opens += max(0, (page.evaluate("window.__fbOpens") or 1) - 1)
            errors += page.evaluate("window.__fbErrors") or 0
        return opens, errors

    def close(self) -> None:
        for context in self.contexts:
            try:
                context.close()
            except Exception:  # the browser may be gone already; nothing else to release
                pass


def shows(status: str, wanted: str) -> bool:
    return (status == "down") == (wanted == "down")


@dataclass
class Change:
    station_id: int
    status: str
    at: float


@dataclass
class Result:
    name: str
    boards: int
    changes: list[Change]
    latencies: list[float] = field(default_factory=list)   # every (board, change) delivered
    slowest: list[float] = field(default_factory=list)     # per change: the last board to show it
    missed: int = 0
    note: str = ""
    cpu: dict[str, float] = field(default_factory=dict)  # CPU milliseconds per change: server, browser, bench
    load: float = 0.0                                     # the machine's 1-minute load average at the end

    @property
    def expected(self) -> int:
        return self.boards * len(self.changes)


def match(changes: list[Change], logs: list[list[tuple[str, str, float]]], name: str, timeout: float) -> Result:
    """Pair each change with the first matching tile change on each page between its time zero and the
    station's next change (or timeout after the last one)."""
    result = Result(name, len(logs), changes)
    ends = []
    for k, change in enumerate(changes):
        later = [c.at for c in changes[k + 1:] if c.station_id == change.station_id]
        ends.append(later[0] if later else change.at + timeout)
    per_change: list[list[float]] = [[] for _ in changes]
    for log in logs:
        for k, change in enumerate(changes):
            tile = f"tile-{change.station_id}"
            hit = next((at for t, status, at in log if t == tile and shows(status, change.status)
                        and change.at - TOLERANCE <= at < ends[k]), None)
            if hit is None:
                result.missed += 1
            else:
                per_change[k].append(hit - change.at)
    result.latencies = [x for xs in per_change for x in xs]
    result.slowest = [max(xs) for xs in per_change if len(xs) == len(logs)]
    return result
