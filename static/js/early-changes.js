/*
 * Floorbook: changes made before the page's scripts had loaded.
 *
 * A field changed while the deferred scripts were still loading (a slow link, a busy tablet) fired its
 * change before htmx listened. Once htmx has started, each form that acts on change hears it again; the fill
 * page's answers go through the outbox instead (outbox.js, with the edit test this file gives it).
 * Plain ES2020, no inline code (CSP script-src 'self').
 */
(function () {
  "use strict";

  // True when a field holds something else than the server wrote (typed, picked or ticked since).
  function edited(input) {
    if (input.type === "radio" || input.type === "checkbox") {
      return input.checked !== input.defaultChecked;
    }
    if (input.tagName === "SELECT") {
      return Array.from(input.options).some((o) => o.selected !== o.defaultSelected);
    }
    if (input.type === "file" || input.type === "hidden") {
      return false;
    }
    return input.value !== written(input);
  }

  // What the server wrote, as this kind of field holds it (a time field drops a ":00").
  function written(input) {
    if (input.tagName === "TEXTAREA") {
      return input.defaultValue;
    }
    const probe = document.createElement("input");
    probe.type = input.type;
    probe.value = input.defaultValue;
    return probe.value;
  }

  // A filter picked while the page was still loading (a search, the review queue, the station picker)
  // fired its change before htmx or this script listened: once htmx has started, the form hears it again.
  // The fill page's answers go through the outbox instead (outbox.js), after what it already holds.
  function replayEarlyChanges() {
    const navigation = performance.getEntriesByType("navigation")[0];
    if (navigation && navigation.type !== "navigate") {
      return; // a reload or Back: the browser put back fields it kept, and the address is the search
    }
    for (const form of document.querySelectorAll("form")) {
      const acts = /\bchange\b/.test(form.getAttribute("hx-trigger") || "") || form.querySelector("[data-autosubmit]");
      const field = acts && !form.closest("[data-outbox]") ?
        Array.from(form.querySelectorAll("input, select, textarea")).find(edited) : null;
      if (field) {
        field.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
  }

  window.Floorbook.edited = edited; // for outbox.js (app.js made window.Floorbook)

  // htmx starts on DOMContentLoaded, and its listener came first (its script is the first deferred one).
  if (document.readyState === "complete") {
    replayEarlyChanges();
  } else {
    document.addEventListener("DOMContentLoaded", replayEarlyChanges, { once: true });
  }
})();
