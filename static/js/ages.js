/*
 * Floorbook: live ages ("12 min", "1 h 05 min", "2 d 3 h").
 *
 * Every element with data-since="<ISO UTC>" shows how long ago that was, refreshed every 20 s.
 * The server renders the same text first (the `age` Jinja filter), so the page is right
 * without JavaScript. An element may also carry data-now="<ISO UTC>", the server's clock when
 * it was rendered: ages then follow the server's clock, not a tablet's that may be wrong.
 * Plain ES2020, no inline code (CSP script-src 'self').
 */
(function () {
  "use strict";

  const REFRESH_MS = 20000;
  const offsets = new WeakMap(); // element → server clock minus this device's clock, in ms

  function ageText(ms) {
    const minutes = Math.max(0, Math.floor(ms / 60000));
    if (minutes < 1) {
      return "<1 min";
    }
    if (minutes < 60) {
      return minutes + " min";
    }
    const hours = Math.floor(minutes / 60);
    if (hours < 24) {
      return hours + " h " + String(minutes % 60).padStart(2, "0") + " min";
    }
    return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
  }

  function offsetFor(el) {
    if (!offsets.has(el)) {
      const serverNow = Date.parse(el.dataset.now || "");
      offsets.set(el, Number.isNaN(serverNow) ? 0 : serverNow - Date.now());
    }
    return offsets.get(el);
  }

  function refresh(root) {
    const scope = root && typeof root.querySelectorAll === "function" ? root : document;
    const found = Array.from(scope.querySelectorAll("[data-since]"));
    if (typeof scope.matches === "function" && scope.matches("[data-since]")) {
      found.push(scope);
    }
    for (const el of found) {
      const since = Date.parse(el.dataset.since);
      if (Number.isNaN(since)) {
        continue;
      }
      const text = ageText(Date.now() + offsetFor(el) - since);
      if (el.textContent !== text) {
        el.textContent = text;
      }
    }
  }

  // htmx fires htmx:load on each swapped-in element (and on <body> at start).
  document.addEventListener("htmx:load", (evt) => refresh(evt.target));
  document.addEventListener("floorbook:swapped", (evt) => refresh(evt.target)); // the board's own swaps
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      refresh(document);
    }
  });

  function start() {
    refresh(document);
    window.setInterval(() => refresh(document), REFRESH_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start, { once: true });
  } else {
    start();
  }
})();
