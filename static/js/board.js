// Board screen: the live stream (EventSource), the site clock, a watchdog with polling fallback, a nightly reload.
//
// The stream is read here rather than by htmx's SSE extension: a TV applies a change by replacing the elements
// the message names (the changed tiles and the header), nothing more. A TV is often a cheap stick and a
// plant has dozens of them; htmx's swap (processing, settle classes, events) cost several times the change.
(function () {
  "use strict";
  var body = document.body;
  var live = document.getElementById("board-live");
  var watchdogMs = Number(body.dataset.watchdogSeconds || 45) * 1000;
  var pollMs = Number(body.dataset.pollSeconds || 10) * 1000;
  var lastMessage = Date.now();
  var pollTimer = null;
  var source = null;
  var lastId = null; // the feed position shown: a new connection resumes after it
  var retryMs = 0;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // The clock shows the site's time: UTC now plus the site's offset (refreshed by every heartbeat).
  function tickClock() {
    var clock = document.querySelector("[data-site-clock]");
    if (!clock) { return; }
    var m = /^([+-])(\d\d):?(\d\d)$/.exec(clock.dataset.utcOffset || "+00:00");
    var minutes = m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
    var site = new Date(Date.now() + minutes * 60000);
    var text = pad(site.getUTCHours()) + ":" + pad(site.getUTCMinutes());
    if (clock.textContent !== text) { clock.textContent = text; } // an unchanged clock costs the TV no repaint
  }

  function swapped(element) {
    element.dispatchEvent(new CustomEvent("floorbook:swapped", { bubbles: true }));
  }

  // A board message is the changed tiles and the header slot, each a whole element with its id: each
  // replaces the element of that id (an id the page lacks is a station that came: the layout event reloads).
  function replaceById(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    Array.prototype.slice.call(template.content.children).forEach(function (fresh) {
      var old = fresh.id ? document.getElementById(fresh.id) : null;
      if (old) {
        old.replaceWith(fresh);
        swapped(fresh);
      }
    });
  }

  function setHeader(html) {
    var slot = document.getElementById("board-header-slot");
    if (slot) {
      slot.innerHTML = html;
      swapped(slot);
    }
  }

  function poll() {
    fetch(body.dataset.fragmentUrl, { credentials: "same-origin", cache: "no-cache" }).then(function (response) {
      if (response.status === 404) { window.location.reload(); return null; }
      return response.ok ? response.text() : null;
    }).then(function (html) {
      var target = document.getElementById("board-body");
      if (html && target) {
        target.innerHTML = html;
        swapped(target);
      }
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

  function heard(event) {
    lastMessage = Date.now();
    if (event.lastEventId) { lastId = event.lastEventId; }
    if (body.dataset.stream !== "open") {
      stopPolling();
      body.dataset.stream = "open";
    }
  }

  function connect() {
    var url = live.dataset.eventsUrl;
    if (lastId !== null) { url = url.replace(/([?&])since=[^&]*/, "$1since=" + encodeURIComponent(lastId)); }
    source = new EventSource(url);
    source.addEventListener("open", function () {
      retryMs = 0;
      heard({});
      body.dispatchEvent(new CustomEvent("floorbook:stream-open", { bubbles: true }));
    });
    source.addEventListener("error", function () {
      body.dispatchEvent(new CustomEvent("floorbook:stream-error", { bubbles: true }));
      startPolling();
      // The browser reconnects by itself after a dropped connection (with Last-Event-ID); a refused one
      // (429: too many streams, 503: the server stopping) closes the source, so a new one is made later.
      if (source.readyState === EventSource.CLOSED) {
        retryMs = Math.min(60000, retryMs ? retryMs * 2 : 3000);
        window.setTimeout(connect, retryMs * (0.75 + Math.random() / 2));
      }
    });
    source.addEventListener("board", function (event) { heard(event); replaceById(event.data); tickClock(); });
    source.addEventListener("heartbeat", function (event) { heard(event); setHeader(event.data); tickClock(); });
    // revoked: the page answers 404 now; layout: a station came or went, the whole page is rendered anew.
    source.addEventListener("revoked", function () { window.location.reload(); });
    source.addEventListener("layout", function () { window.location.reload(); });
  }

  window.setInterval(function () {
    tickClock();
    if (Date.now() - lastMessage > watchdogMs) { startPolling(); }
  }, 1000);
  // A long-running TV page is reloaded once a day to pick up new code and shed any leaks.
  window.setTimeout(function () { window.location.reload(); }, 24 * 3600 * 1000);
  tickClock();
  connect();
})();
