/*
 * Floorbook outbox store: the changes a tablet could not send yet, in IndexedDB, and their replay.
 *
 * Shared by the pages (outbox.js) and the service worker (importScripts), so either can send the
 * queue: the page on `online`, on load and on a timer; the worker when it starts and on Background
 * Sync. A Web Lock makes sure only one of them replays at a time; the server's Idempotency-Key makes
 * a change sent twice count once anyway.
 *
 * An item: {seq, key, url, method, entries: [[name, string | Blob, filename?]], owner, ownerName,
 * token, submissionId, itemName, kind, label, state: "waiting" | "rejected" | "signin", error,
 * attempts, createdAt, triedAt}.
 */
(function (scope) {
  "use strict";

  const DB_NAME = "floorbook-outbox";
  const STORE = "items";
  const LOCK = "floorbook-outbox-replay";
  const TOKEN_HEADER = "X-Floorbook-Outbox";
  const TIMEOUT_MS = 20000;
  const REFUSED = [400, 403, 404, 409, 410, 413, 422];
  const NO_CONNECTION = "No connection to the server yet.";

  let dbPromise = null;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const request = scope.indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => {
          const store = request.result.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
          store.createIndex("owner", "owner");
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    return dbPromise;
  }

  function run(mode, work) {
    return open().then((db) => new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    }));
  }

  function all() {
    return run("readonly", (store) => store.getAll());
  }

  function add(item) {
    const record = Object.assign({ state: "waiting", error: "", attempts: 0, createdAt: new Date().toISOString() }, item);
    return run("readwrite", (store) => store.add(record)).then((seq) => Object.assign(record, { seq: seq }));
  }

  function put(item) {
    return run("readwrite", (store) => store.put(item));
  }

  // Write back a change being sent unless it was discarded meanwhile (from the outbox page).
  function update(item) {
    return run("readwrite", (store) => {
      const found = store.get(item.seq);
      found.onsuccess = () => {
        if (found.result) {
          store.put(item);
        }
      };
    });
  }

  function remove(seq) {
    return run("readwrite", (store) => store.delete(seq));
  }

  function changed(message) {
    // Tell every page that the queue changed (and what arrived), so badges and items follow at once.
    if (typeof scope.BroadcastChannel === "function") {
      new scope.BroadcastChannel("floorbook-outbox").postMessage(message || { type: "changed" });
    }
  }

  function body(item) {
    const form = new FormData();
    for (const [name, value, filename] of item.entries) {
      if (filename !== undefined && value instanceof Blob) {
        form.append(name, value, filename);
      } else {
        form.append(name, value);
      }
    }
    return form;
  }

  // Photos on slow plant Wi-Fi: the time allowed grows with the size (at least 50 kB/s).
  function timeoutFor(item) {
    const bytes = item.entries.reduce((sum, entry) => sum + (entry[1] instanceof Blob ? entry[1].size : 0), 0);
    return TIMEOUT_MS + Math.ceil(bytes / 50);
  }

  function send(item) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutFor(item));
    const headers = { "Idempotency-Key": item.key, "HX-Request": "true" };
    headers[TOKEN_HEADER] = item.token;
    // The change goes as the person who made it (their token), whoever is signed in now: the server
    // takes the token only with this tablet's own device cookie, and ignores the session cookie then.
    return fetch(item.url, { method: item.method, body: body(item), headers: headers, credentials: "same-origin",
                             redirect: "manual", signal: controller.signal, cache: "no-store" })
      .finally(() => clearTimeout(timer));
  }

  function reasonFrom(text) {
    // The server's own words: an element marked data-message, else the first alert, else the text.
    const marked = /data-message="([^"]*)"/.exec(text) || /role="alert"[^>]*>([\s\S]*?)<\//.exec(text);
    const raw = (marked ? marked[1] : text.replace(/<(script|style|title)\b[\s\S]*?<\/\1>/gi, " ")).replace(/<[^>]*>/g, " ");
    const words = raw.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, "&").replace(/\s+/g, " ").trim();
    return words.length > 200 ? words.slice(0, 199) + "…" : words;
  }

  // Only the endpoint that took the change echoes its key: a redirect or a page from anything in
  // between (a captive portal, an auth proxy) does not count as delivered.
  function reachedFloorbook(item, response) {
    return response.status >= 200 && response.status < 300 && response.headers.get("Idempotency-Key") === item.key;
  }

  // Send waiting items in order. Stops at a network error or a server error (tried again later);
  // keeps a refused item (the reason is shown) and an item whose sign-in has run out.
  // onDelivered(item, response) lets a page show the server's answer.
  function replay(onDelivered) {
    const go = () => replayUnlocked(onDelivered);
    if (scope.navigator && scope.navigator.locks) {
      return scope.navigator.locks.request(LOCK, { ifAvailable: true }, (lock) => (lock ? go() : "busy"));
    }
    return go();
  }

  async function replayUnlocked(onDelivered) {
    const items = (await all()).filter((item) => item.state === "waiting").sort((a, b) => a.seq - b.seq);
    let sent = 0;
    for (const item of items) {
      let response;
      item.attempts += 1;
      item.triedAt = new Date().toISOString();
      try {
        response = await send(item);
      } catch (error) {
        item.error = error && error.name === "AbortError" ? "The server did not answer in time; it will be tried again."
          : NO_CONNECTION;
        await update(item);
        changed();
        return { sent: sent, stopped: "network" };
      }
      const status = response.status;
      if (reachedFloorbook(item, response)) {
        await remove(item.seq);
        sent += 1;
        changed({ type: "delivered", seq: item.seq, owner: item.owner, submissionId: item.submissionId,
                  itemName: item.itemName, kind: item.kind, redirect: response.headers.get("HX-Redirect") });
        if (onDelivered) {
          onDelivered(item, response);
        }
        continue;
      }
      if (status === 401) {
        item.state = "signin";
        item.error = "Sign-in ran out: " + (item.ownerName || "its author") + " must sign in on this tablet to send it.";
      } else if (REFUSED.indexOf(status) !== -1) {
        item.state = "rejected";
        item.error = reasonFrom(await response.text()) || "The server refused this change (" + status + ").";
      } else {
        item.error = status >= 500 ? "The server had a problem (" + status + "); it will be tried again."
          : "The answer did not come from Floorbook (a sign-in page or proxy in between?); it will be tried again.";
        await update(item);
        changed();
        return { sent: sent, stopped: "server" };
      }
      await update(item);
      changed();
    }
    return { sent: sent, stopped: null };
  }

  scope.FloorbookOutbox = { all: all, add: add, put: put, remove: remove, replay: replay, changed: changed,
                            NO_CONNECTION: NO_CONNECTION };
})(self);
