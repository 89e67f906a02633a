// Board screen: the site clock, a stream watchdog with polling fallback, and a nightly reload.
(function () {
  "use strict";
  var body = document.body;
  var watchdogMs = Number(body.dataset.watchdogSeconds || 45) * 1000;
  var pollMs = Number(body.dataset.pollSeconds || 10) * 1000;
  var lastMessage = Date.now();
  var pollTimer = null;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // The clock shows the site's time: UTC now plus the site's offset (refreshed by every heartbeat).
  function tickClock() {
    var clock = document.querySelector("[data-site-clock]");
    if (!clock) { return; }
    var m = /^([+-])(\d\d):?(\d\d)$/.exec(clock.dataset.utcOffset || "+00:00");
    var minutes = m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
    var site = new Date(Date.now() + minutes * 60000);
    clock.textContent = pad(site.getUTCHours()) + ":" + pad(site.getUTCMinutes());
  }

  function poll() {
    fetch(body.dataset.fragmentUrl, { credentials: "same-origin", cache: "no-cache" }).then(function (response) {
      if (response.status === 404) { window.location.reload(); return null; }
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html) { htmx.swap("#board-body", html, { swapStyle: "innerHTML" }); }
    }).catch(function () { /* still offline: try again on the next tick */ });
  }

  function startPolling() {
    body.dataset.stream = "polling";
    if (pollTimer === null) {
      body.classList.add("board--polling");
      poll();
      pollTimer = window.setInterval(poll, pollMs);
    }
  }

  function stopPolling() {
    if (pollTimer !== null) {
      window.clearInterval(pollTimer);
      pollTimer = null;
      body.classList.remove("board--polling");
    }
  }

  body.addEventListener("htmx:sseOpen", function () { lastMessage = Date.now(); stopPolling(); body.dataset.stream = "open"; });
  body.addEventListener("htmx:sseError", startPolling);
  body.addEventListener("htmx:sseMessage", function (event) {
    lastMessage = Date.now();
    stopPolling();
    body.dataset.stream = "open";
    // revoked: the page answers 404 now; layout: a station came or went, the whole page is rendered anew.
    if (event.detail && (event.detail.type === "revoked" || event.detail.type === "layout")) { window.location.reload(); }
    tickClock();
  });

  window.setInterval(function () {
    tickClock();
    if (Date.now() - lastMessage > watchdogMs) { startPolling(); }
  }, 1000);
  // A long-running TV page is reloaded once a day to pick up new code and shed any leaks.
  window.setTimeout(function () { window.location.reload(); }, 24 * 3600 * 1000);
  tickClock();
})();
