/*
 * Pages kept for offline use on the tablet: the drafts in progress at the station, the outbox page,
 * the blank form of every checklist listed there (so Start works offline), and the fill page itself,
 * refreshed after saves. The service worker fetches and stores them (app/pwa/service-worker.js).
 */
(function () {
  "use strict";

  // The drafts in progress here (and the outbox page) stay usable when the network goes.
  const BLANK_FORMS_FRESH_MS = 30 * 60 * 1000;
  const HOME_FRESH_MS = 60 * 1000; // the station home: where every offline flow comes back to

  function keepPages(urls, maxAgeMs) {
    const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (urls.length && worker && navigator.onLine !== false) {
      worker.postMessage({ type: "keep-pages", urls: urls, maxAgeMs: maxAgeMs });
    }
  }

  function keepForOffline() {
    const urls = Array.from(document.querySelectorAll("a[data-offline-keep]"), (a) => a.href);
    if (document.querySelector("[data-outbox]")) {
      urls.push(window.location.href); // this fill page itself, however it was reached
    }
    const badge = document.querySelector("a[data-outbox-badge]");
    if (badge) {
      urls.push(badge.href);
    }
    keepPages(urls, 0);
    keepPages(Array.from(document.querySelectorAll("form[data-offline-url]"),
                         (form) => new URL(form.dataset.offlineUrl, window.location.href).href), BLANK_FORMS_FRESH_MS);
    if (badge) {
      keepPages([new URL("/floor", window.location.href).href], HOME_FRESH_MS);
    }
  }

  // A page loaded before the worker took control keeps its pages once it has.
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("controllerchange", keepForOffline);
  }

  // The kept copy of this fill page follows the answers the server has, so a reload offline shows them.
  let keepTimer = null;
  function keepThisPageSoon() {
    window.clearTimeout(keepTimer);
    keepTimer = window.setTimeout(() => keepPages([window.location.href], 0), 1500);
  }

  window.FloorbookKeptPages = { keepForOffline: keepForOffline, keepThisPageSoon: keepThisPageSoon };
})();
