/*
 * Floorbook service worker (hand-written, no build step). Served from /sw.js so its scope is the app.
 *
 * - The app shell (vendored htmx, CSS, scripts, icons, the offline page) is precached under a
 *   versioned name; activating a new version deletes the old shell caches.
 * - Tablet pages and fragments: network first with a short timeout, then the cached copy, then the
 *   offline page. Only same-origin GETs under /floor are kept; the copies belong to the person
 *   signed in and are deleted at sign-out, whenever a page says nobody is signed in, and when a page
 *   of someone else arrives.
 * - Never cached: the board's SSE stream and kiosk pages, sign-in and sign-out, PDFs, exports.
 * - POSTs are not touched here: the page's outbox keeps what cannot be sent (outbox-store.js), and
 *   this worker replays it when it starts and on Background Sync.
 */
"use strict";

const VERSION = "__FLOORBOOK_VERSION__";
const SHELL = "floorbook-shell-" + VERSION;
const PAGES = "floorbook-pages";
const PRECACHE = ["__FLOORBOOK_PRECACHE__"];
const OFFLINE_URL = PRECACHE.find((url) => url.endsWith("/offline"));
const NETWORK_TIMEOUT_MS = 4000;
const NEVER = [/^\/board\//, /^\/login/, /^\/logout/, /^\/account\//, /\.pdf$/, /\/pdf$/, /\/export/, /^\/sw\.js$/];
const PAGES_KEPT = /^\/floor(\/|$)/;

importScripts("__FLOORBOOK_OUTBOX_STORE__");

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith("floorbook-shell-") && n !== SHELL)
      .map((n) => caches.delete(n))))
    .then(() => self.clients.claim())
    .then(() => {
      replay(); // not awaited: a long replay must not hold up the new version taking over
    }));
});

self.addEventListener("sync", (event) => {
  if (event.tag === "floorbook-outbox") {
    event.waitUntil(replay());
  }
});

self.addEventListener("message", (event) => {
  const type = event.data && event.data.type;
  if (type === "forget-pages") {
    event.waitUntil(forgetPages());
  } else if (type === "replay") {
    event.waitUntil(replay());
  } else if (type === "keep-pages" && Array.isArray(event.data.urls)) {
    event.waitUntil(keepPages(event.data.urls, Number(event.data.maxAgeMs) || 0));
  }
});

function replay() {
  return self.FloorbookOutbox.replay(null).catch(() => null);
}

// The drafts in progress and the blank forms of this tablet's station, fetched while online. A copy
// younger than maxAgeMs is kept as it is (blank forms change rarely; drafts change with every answer).
function keepPages(urls, maxAgeMs) {
  return caches.open(PAGES).then((cache) => Promise.all(urls
    .filter((url) => PAGES_KEPT.test(new URL(url, self.location).pathname))
    .map((url) => cache.match(url).then((hit) => {
      if (hit && Date.now() - Date.parse(hit.headers.get("Date") || 0) < maxAgeMs) {
        return null;
      }
      // Marked as a copy being kept: the page is rendered without the one-time notices meant for the
      // person's next page (a draft just submitted redirects here to its record and its notice).
      const fetchedIn = era;
      return fetch(url, { credentials: "same-origin", headers: { "X-Floorbook-Keep": "1" } })
        .then((response) => store(new Request(url), response, fetchedIn));
    }).catch(() => null))));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  if (NEVER.some((pattern) => pattern.test(url.pathname)) ||
      (request.headers.get("Accept") || "").includes("text/event-stream")) {
    return; // straight to the network, never stored
  }
  if (PRECACHE.includes(url.pathname)) {
    event.respondWith(caches.match(request, { cacheName: SHELL }).then((hit) => hit || fetch(request)));
  } else if (PAGES_KEPT.test(url.pathname)) {
    event.respondWith(networkFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE_URL, { cacheName: SHELL })));
  }
});

// The kept pages are one person's: the first page of someone else (whatever way they signed in)
// deletes them before it is kept. OWNER records whose they are. Changes to the kept pages run one at
// a time, and a page fetched before the pages were forgotten or changed hands (a late answer for the
// previous person) is not kept: `era` counts those moments.
const OWNER = "/__floorbook-pages-owner";
let pagesQueue = Promise.resolve();
let era = 0;

function inTurn(work) {
  const done = pagesQueue.then(work);
  pagesQueue = done.catch(() => null);
  return done;
}

function forgetPages() {
  era += 1;
  return inTurn(() => caches.delete(PAGES));
}

function keepPage(person, fetchedIn, request, response) {
  return inTurn(async () => {
    if (fetchedIn !== era) {
      return;
    }
    let cache = await caches.open(PAGES);
    const hit = await cache.match(OWNER);
    const owner = hit ? await hit.text() : null;
    if (owner !== person) {
      if (owner !== null) {
        era += 1; // someone else's pages: they go, and so does any answer still on its way for them
        await caches.delete(PAGES);
        cache = await caches.open(PAGES);
      }
      await cache.put(OWNER, new Response(person));
    }
    await cache.put(request, response);
  });
}

function store(request, response, fetchedIn) {
  // Only a page as the signed-in person saw it: not a redirect (to sign-in), not an error.
  const person = response.headers.get("X-Floorbook-User");
  if (response.ok && !response.redirected && response.type === "basic" && person) {
    return keepPage(person, fetchedIn, request, response.clone()).then(() => response);
  }
  if (response.redirected && new URL(response.url).pathname.startsWith("/login")) {
    return forgetPages().then(() => response); // signed out: nobody's pages stay
  }
  return response;
}

function networkFirst(request) {
  const fetchedIn = era;
  const fromNetwork = fetch(request).then((response) => store(request, response, fetchedIn));
  const fromCache = () => caches.open(PAGES).then((cache) => cache.match(request)).then((hit) => {
    if (hit) {
      return hit;
    }
    if (request.mode === "navigate") {
      return caches.match(OFFLINE_URL, { cacheName: SHELL });
    }
    return new Response("Offline: this is not saved on the tablet.", { status: 503, headers: { "Content-Type": "text/plain" } });
  });
  const timeout = new Promise((resolve) => setTimeout(resolve, NETWORK_TIMEOUT_MS, null));
  return Promise.race([fromNetwork.catch(() => null), timeout]).then((response) => {
    if (response) {
      return response;
    }
    // Slow or no network: the saved copy now; a late answer still refreshes the cache.
    return fromCache().then((copy) => (copy.status === 503 || copy.url.endsWith("/offline") ? fromNetwork.catch(() => copy) : copy));
  });
}
