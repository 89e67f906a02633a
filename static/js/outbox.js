/*
 * Floorbook outbox on the page: nothing entered on a tablet is lost when the network is not there.
 *
 * Every htmx change inside [data-outbox] (answers, reasons, photos, submit) gets its own
 * Idempotency-Key. If it cannot reach the server (offline, or older changes still waiting, which
 * must arrive first) it goes into the IndexedDB outbox (outbox-store.js) with the author's outbox
 * token, and the item says "Saved on this tablet" at once. The queue is replayed in order on
 * `online`, on load, every 15 s, after each new change, and by the service worker. A badge on every
 * page counts the signed-in person's waiting changes; /floor/outbox lists them.
 */
(function () {
  "use strict";

  const store = window.FloorbookOutbox;
  const ui = window.Floorbook;
  const pages = window.FloorbookKeptPages;
  if (!store || !ui || !pages || !window.indexedDB) {
    return;
  }
  const meta = (name) => (document.querySelector('meta[name="' + name + '"]') || {}).content || "";
  const me = { id: meta("floorbook-user"), name: meta("floorbook-user-name"), token: meta("floorbook-outbox-token") };
  const REPLAY_EVERY_MS = 15000;
  let items = [];
  let flushing = null;

  const mine = () => items.filter((item) => item.owner === me.id);
  const blankPage = document.querySelector("[data-outbox][data-blank]");
  const started = /^#([0-9a-f-]{36})$/.exec(window.location.hash);
  if (blankPage && started) {
    blankPage.dataset.submissionId = started[1]; // a form started offline: its UUID from the start
  }
  // On a blank page, the URLs carry a placeholder id until the tablet's UUID replaces it.
  const realUrl = (url) => (blankPage ? url.split(blankPage.dataset.blank).join(blankPage.dataset.submissionId) : url);
  const waitingMine = () => mine().filter((item) => item.state === "waiting");
  const page = () => document.querySelector("[data-outbox]");
  const onFillPageOf = (item) => page() && page().dataset.submissionId === item.submissionId;

  /* ---------------------------------------------------------------- */
  /* Badge and item states                                             */
  /* ---------------------------------------------------------------- */

  async function refresh() {
    items = await store.all();
    const count = mine().length;
    const attention = mine().some((item) => item.state !== "waiting");
    document.body.dataset.outboxCount = String(count);
    for (const badge of document.querySelectorAll("[data-outbox-badge]")) {
      badge.hidden = count === 0;
      badge.dataset.state = attention ? "attention" : "waiting";
      badge.querySelector("[data-outbox-count]").textContent = String(count);
    }
    document.dispatchEvent(new CustomEvent("floorbook:outbox", { detail: { mine: mine(), others: items.length - count } }));
  }

  function itemElement(name) {
    return name ? document.getElementById("item-" + name) : null;
  }

  function showKept(item) {
    if (!onFillPageOf(item)) {
      return;
    }
    if (item.kind === "submit") {
      const result = document.getElementById("submit-result");
      if (result) {
        result.className = "alert alert-" + (item.state === "waiting" ? "info" : "error");
        result.textContent = item.state === "waiting"
          ? "Submitted on this tablet: it is sent as soon as the connection is back."
          : "Not submitted — " + item.error;
        result.setAttribute("role", "status");
      }
      return;
    }
    const element = itemElement(item.itemName);
    const state = element ? element.querySelector(".save-state") : null;
    if (item.state === "waiting") {
      ui.setSaveState(state, "local", "Saved on this tablet, waiting to send");
    } else {
      ui.setSaveState(state, "error", "Not saved — " + item.error);
    }
    if (element && item.kind === "photo") {
      showPhoto(element, item);
    }
    if (element && window.FloorbookLocalCheck) {
      window.FloorbookLocalCheck.kept(element, item);
    }
  }

  function showPhoto(element, item) {
    const blob = (item.entries.find((entry) => entry[1] instanceof Blob) || [])[1];
    if (!blob || element.querySelector("img[data-local-photo]")) {
      return;
    }
    const img = document.createElement("img");
    img.src = URL.createObjectURL(blob);
    img.alt = "Photo saved on this tablet";
    img.dataset.localPhoto = "";
    let thumbs = element.querySelector(".photo-thumbs");
    if (!thumbs) {
      thumbs = document.createElement("div");
      thumbs.className = "photo-thumbs";
      element.querySelector(".item-head").after(thumbs);
    }
    thumbs.append(img);
  }

  /* ---------------------------------------------------------------- */
  /* Taking changes into the outbox                                    */
  /* ---------------------------------------------------------------- */

  function kindOf(url) {
    const path = url.split("?")[0];
    if (/\/floor\/downtime(\/\d+)?\/stop$/.test(path)) {
      return "downtime-stop";
    }
    const tail = path.split("/").pop();
    return { explain: "explain", photo: "photo", submit: "submit", submissions: "start", downtime: "downtime" }[tail] || "answer";
  }

  function labelOf(element, kind) {
    const label = element && element.querySelector(".item-label");
    const words = { answer: "Answer", explain: "Reason", photo: "Photo", submit: "Submit checklist", start: "Start",
                    downtime: "Downtime", "downtime-stop": "Running again" };
    return words[kind] + (label ? ": " + label.textContent.replace(/\s*\*\s*$/, "").trim() : "");
  }

  function record(url, method, entries, element, kind) {
    const scope = page();
    const station = element && element.closest ? element.closest("[data-station-id]") : null;
    // Every change carries when it was made by the tablet's clock: the server dates what it kept offline by it.
    const stamped = entries.some((e) => e[0] === "device_time") ? entries
      : entries.concat([["device_time", new Date().toISOString()]]);
    return {
      key: ui.uuid4(), url: url, method: method, entries: stamped, owner: me.id, ownerName: me.name,
      token: me.token, submissionId: scope ? scope.dataset.submissionId || "" : "",
      itemName: element && element.dataset ? element.dataset.item || "" : "", kind: kind, label: labelOf(element, kind),
      stationId: station ? station.dataset.stationId : "",
    };
  }

  // A new answer replaces an older refused one for the same item: it is the operator's correction.
  async function supersede(item) {
    await refresh();
    for (const old of mine()) {
      const same = old.submissionId === item.submissionId && old.itemName === item.itemName && old.kind === item.kind;
      if (same && old.state !== "waiting") {
        await store.remove(old.seq);
        store.changed();
      }
    }
  }

  // Changes being written to the outbox right now: a change made meanwhile must queue behind them
  // (htmx sends a change queued on the same field the moment the failed one ends, before IndexedDB
  // has answered), or a newer value would reach the server first and be overwritten by the older one.
  // Writes go one after another, so the outbox's order is the order the changes were made in.
  let keeping = 0;
  let writes = Promise.resolve();

  function keep(item) {
    keeping += 1;
    if (window.FloorbookDowntime) {
      window.FloorbookDowntime.describe(item); // what the station home shows until the server has it
    }
    const written = writes.then(async () => {
      await supersede(item);
      showKept(await store.add(item));
      store.changed();
      await refresh();
    }).finally(() => {
      keeping -= 1;
    });
    writes = written.catch(() => null);
    return written.then(() => {
      askForSync();
      flush();
      if (window.FloorbookDowntime) {
        window.FloorbookDowntime.kept(item);
      }
    });
  }

  document.addEventListener("htmx:configRequest", (evt) => {
    const d = evt.detail;
    if (!d || !d.elt || !d.elt.closest || !d.elt.closest("[data-outbox], [data-outbox-downtime]") || !me.token ||
        d.verb === "get") {
      return;
    }
    const entries = Array.from(d.formData.entries(), ([name, value]) =>
      (value instanceof Blob ? [name, value, value.name || "photo.jpg"] : [name, value]));
    const element = d.elt.closest(".item") || d.elt.closest("[data-outbox-downtime]");
    d.path = realUrl(d.path);
    const item = record(d.path, d.verb.toUpperCase(), entries, element, kindOf(d.path));
    d.headers["Idempotency-Key"] = item.key;
    d.elt.floorbookOutbox = item;
    if (navigator.onLine === false || keeping > 0 || waitingMine().length > 0) {
      evt.preventDefault(); // behind what is already waiting, so the server sees changes in order
      d.elt.floorbookOutbox = null;
      keep(item);
    }
  });

  // The xhr carries the change from here on: after a swap, htmx reports on an ancestor, not the form.
  document.addEventListener("htmx:beforeRequest", (evt) => {
    const d = evt.detail;
    if (d && d.elt && d.xhr && d.elt.floorbookOutbox) {
      d.xhr.floorbookOutbox = d.elt.floorbookOutbox;
      d.elt.floorbookOutbox = null;
    }
  });

  // Offline, Start keeps the start in the outbox and opens the form's blank page the worker kept.
  document.addEventListener("submit", (evt) => {
    const form = evt.target;
    if (!form.matches || !form.matches("form[data-offline-url]") || navigator.onLine !== false || !me.token) {
      return;
    }
    evt.preventDefault();
    const entries = Array.from(new FormData(form).entries()).concat([["device_time", new Date().toISOString()]]);
    const id = form.querySelector("input[name=id]").value;
    const item = Object.assign(record(form.action, "POST", entries, null, "start"), { submissionId: id });
    item.label = "Start: " + (form.querySelector(".card-title, button") || {}).textContent;
    keep(item).then(() => window.location.assign(form.dataset.offlineUrl + "#" + id));
  });

  function unsent(evt) {
    const xhr = evt.detail && evt.detail.xhr;
    const item = xhr && xhr.floorbookOutbox;
    if (item) {
      xhr.floorbookOutbox = null;
      keep(item);
    }
  }
  // An answer that did not come from the endpoint (the server ended the session, say for being idle,
  // and sends htmx to the sign-in page; a proxy's page in between) means the change was not taken.
  // It is kept, but only its author's next sign-in sends it: whoever tapped may not be that person.
  document.addEventListener("htmx:beforeOnLoad", (evt) => {
    const xhr = evt.detail && evt.detail.xhr;
    const item = xhr && xhr.floorbookOutbox;
    if (!item || xhr.status >= 400 || xhr.getResponseHeader("Idempotency-Key") === item.key) {
      return;
    }
    evt.preventDefault();
    xhr.floorbookOutbox = null;
    item.state = "signin";
    item.error = "Signed out before this was saved: " + (item.ownerName || "its author") + " must sign in on this tablet to send it.";
    const next = xhr.getResponseHeader("HX-Redirect");
    keep(item).then(() => next && window.location.assign(next));
  });
  document.addEventListener("htmx:sendError", unsent);
  document.addEventListener("htmx:timeout", unsent);
  document.addEventListener("htmx:afterRequest", (evt) => {
    const d = evt.detail;
    const item = d && d.xhr && d.xhr.status ? d.xhr.floorbookOutbox : null;
    if (item) {
      d.xhr.floorbookOutbox = null; // the server answered; htmx shows it
      if (d.xhr.status >= 500) {
        keep(item); // a proxy's 502/503/504 while the app restarts: as good as no connection
      } else if (d.successful) {
        supersede(item).then(refresh);
        pages.keepThisPageSoon();
      }
    }
  });

  /* ---------------------------------------------------------------- */
  /* Replay                                                            */
  /* ---------------------------------------------------------------- */

  async function delivered(item, response) {
    if (!onFillPageOf(item)) {
      return;
    }
    pages.keepThisPageSoon();
    const laterSame = waitingMine().some((o) => o.seq > item.seq && o.itemName === item.itemName);
    const html = response.headers.get("Content-Type") || "";
    if (laterSame || !item.itemName || html.indexOf("text/html") !== 0 || !itemElement(item.itemName)) {
      return;
    }
    const text = await response.text();
    window.htmx.swap(itemElement(item.itemName), text, { swapStyle: "outerHTML" });
  }

  function flush() {
    if (flushing || navigator.onLine === false) {
      return flushing;
    }
    flushing = store.replay(delivered).catch(() => null).then(() => refresh()).finally(() => {
      flushing = null;
      showAllKept();
    });
    return flushing;
  }

  function showAllKept() {
    for (const item of mine()) {
      showKept(item);
    }
  }

  function askForSync() {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.ready.then((reg) => reg.sync && reg.sync.register("floorbook-outbox")).catch(() => null);
    }
  }

  /* ---------------------------------------------------------------- */
  /* Start-up                                                          */
  /* ---------------------------------------------------------------- */

  async function start() {
    const early = earlyAnswers(); // before anything else can be typed, with htmx now listening
    if (!me.id) {
      window.FloorbookSignOut.forgetPages(); // nobody signed in: no one's pages may stay in the cache
    }
    await refresh();
    for (const item of mine()) {
      if (item.token !== me.token && me.token) {
        // A fresh token from this person's new sign-in; one that had run out can be sent again.
        item.token = me.token;
        item.state = item.state === "signin" ? "waiting" : item.state;
        await store.put(item);
      }
    }
    await refresh();
    for (const input of early.filter((i) => i.isConnected && ui.edited(i))) {
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    restore();
    pages.keepForOffline();
    flush();
  }

  // An answer typed while the page's scripts were still loading (a slow link, a busy tablet) fired its
  // change before htmx listened for it. Such fields are sent once the outbox is read, after what waits.
  function earlyAnswers() {
    return Array.from(document.querySelectorAll("[data-outbox] .item-form"), (form) =>
      Array.from(form.querySelectorAll("input, select, textarea")).find(ui.edited)).filter(Boolean);
  }

  // A page reloaded (from the worker's cache when offline) shows what is waiting for it.
  function restore() {
    const forms = { answer: ".item-form", explain: ".why-box" };
    for (const item of mine().filter(onFillPageOf).sort((a, b) => a.seq - b.seq)) {
      const element = itemElement(item.itemName);
      const form = element && forms[item.kind] ? element.querySelector(forms[item.kind]) : null;
      for (const [name, value] of form ? item.entries : []) {
        if (name === "csrf_token" || name === "device_time") {
          continue;
        }
        for (const input of form.querySelectorAll('[name="' + CSS.escape(name) + '"]')) {
          if (input.type === "radio" || input.type === "checkbox") {
            input.checked = item.entries.some((e) => e[0] === name && e[1] === input.value);
          } else {
            input.value = value;
          }
        }
      }
      showKept(item);
    }
  }

  window.addEventListener("online", flush);
  window.setInterval(flush, REPLAY_EVERY_MS);
  // Whoever sent it (this page, another tab, the service worker on Background Sync), the page follows.
  function arrived(message) {
    if (!message || message.type !== "delivered" || message.owner !== me.id || !onFillPageOf(message)) {
      return;
    }
    if (message.kind === "submit" && message.redirect) {
      window.location.assign(message.redirect);
    } else if (itemElement(message.itemName) && !waitingMine().some((o) => o.itemName === message.itemName)) {
      const state = itemElement(message.itemName).querySelector(".save-state");
      if (state && state.dataset.state === "local") {
        ui.setSaveState(state, "saved", "Saved");
      }
    }
  }

  if (typeof BroadcastChannel === "function") {
    // The service worker may be the one replaying (Background Sync): its verdicts show here too.
    new BroadcastChannel("floorbook-outbox").onmessage = (evt) => refresh().then(() => {
      arrived(evt.data);
      showAllKept();
    });
  }
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => null);
  }
  window.FloorbookOutboxPage = {
    refresh: refresh, flush: flush, items: () => mine(),
    keepChange: (url, entries, element, kind) => keep(record(realUrl(url), "POST", entries, element, kind)),
  };
  // A deferred script runs before DOMContentLoaded, on which htmx starts: the outbox starts after it.
  if (document.readyState === "complete") {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start, { once: true });
  }
})();
