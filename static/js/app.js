/*
 * Floorbook: small helpers for the tablet UI.
 *
 * Plain ES2020, loaded with `defer` after htmx. No inline handlers, no eval
 * (CSP script-src 'self'). Everything is attached by event delegation on
 * `document`, so content swapped in by htmx needs no re-binding.
 */
(function () {
  "use strict";

  const SAVE_ERROR_OFFLINE = "Not saved — check the connection and tap again";
  const SAVE_ERROR_GENERIC = "Not saved — tap again";
  const MESSAGE_MAX = 200;

  /* ---------------------------------------------------------------- */
  /* htmx settings that must hold under the CSP                        */
  /* ---------------------------------------------------------------- */

  // This script runs before DOMContentLoaded, i.e. before htmx initialises, so
  // these take effect (a <meta name="htmx-config"> still overrides them).
  // base.css carries the .htmx-indicator rules htmx would otherwise inject as an
  // inline <style>, which style-src 'self' blocks.
  if (window.htmx && window.htmx.config) {
    window.htmx.config.includeIndicatorStyles = false;
    window.htmx.config.allowEval = false;
  }

  /* ---------------------------------------------------------------- */
  /* v4 UUIDs for idempotency keys                                     */
  /* ---------------------------------------------------------------- */

  function uuid4() {
    const c = window.crypto;
    // randomUUID exists only in secure contexts; tablets on plain-http LAN lack it.
    if (c && typeof c.randomUUID === "function") {
      try {
        return c.randomUUID();
      } catch (e) {
        /* fall through */
      }
    }
    const b = new Uint8Array(16);
    if (c && typeof c.getRandomValues === "function") {
      c.getRandomValues(b);
    } else {
      // Last resort for very old engines; not cryptographic, only an id.
      for (let i = 0; i < 16; i += 1) {
        b[i] = Math.floor(Math.random() * 256);
      }
    }
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // variant 10xx
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return (
      h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" +
      h.slice(16, 20) + "-" + h.slice(20)
    );
  }

  // Fill each empty input[data-uuid] once. A filled one is never changed, so a
  // double tap (or a retry) posts the same id and the server sees one request.
  function fillUuids(root) {
    if (!root || typeof root.querySelectorAll !== "function") {
      return;
    }
    const inputs = Array.from(root.querySelectorAll("input[data-uuid]"));
    if (typeof root.matches === "function" && root.matches("input[data-uuid]")) {
      inputs.push(root);
    }
    for (const input of inputs) {
      if (!input.value) {
        input.value = uuid4();
      }
    }
  }

  /* ---------------------------------------------------------------- */
  /* Idle auto-logout on shared tablets                                */
  /* ---------------------------------------------------------------- */

  function setupIdleLogout() {
    const body = document.body;
    if (!body) {
      return;
    }
    const minutes = parseFloat(body.dataset.idleTimeout || "");
    const url = body.dataset.idleUrl;
    if (!(minutes > 0) || !(url || body.dataset.idleForm)) {
      return;
    }
    const limitMs = minutes * 60 * 1000;
    let lastActivity = Date.now();
    let gone = false;

    function reset() {
      lastActivity = Date.now();
    }

    // Compare against the clock instead of trusting one long setTimeout: timers
    // are throttled or frozen while the screen is off or the tab is hidden.
    // If <body data-idle-form="id"> names a form (a POST logout with its CSRF
    // token), submit it, so no GET changes state; otherwise go to data-idle-url.
    function check() {
      if (!gone && Date.now() - lastActivity >= limitMs) {
        gone = true;
        // Offline the sign-in page cannot load: drop this person's kept pages now, not on the next online load.
        if (window.FloorbookSignOut) {
          window.FloorbookSignOut.forgetPages();
        }
        const form = body.dataset.idleForm ? document.getElementById(body.dataset.idleForm) : null;
        const signOutForm = document.querySelector("form[data-sign-out]");
        if (signOutForm && url && window.FloorbookSignOut) {
          // A real sign-out that names what this person left waiting (signout.js); when it cannot get
          // through, the sign-in page (url) that the tablet keeps.
          window.FloorbookSignOut.signOut(signOutForm, "idle", url);
        } else if (form && form.tagName === "FORM") {
          form.submit();
        } else if (url) {
          window.location.assign(url);
        }
      }
    }

    for (const type of ["pointerdown", "keydown", "input"]) {
      document.addEventListener(type, reset, { capture: true, passive: true });
    }
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") {
        check();
      }
    });
    window.addEventListener("pageshow", check);
    window.setInterval(check, Math.min(15000, Math.max(1000, limitMs / 4)));
  }

  /* ---------------------------------------------------------------- */
  /* device_time on htmx requests                                      */
  /* ---------------------------------------------------------------- */

  // Added to state-changing requests (POST/PUT/PATCH/DELETE). GETs are left
  // alone so their URLs stay stable for caching and strict query schemas.
  document.addEventListener("htmx:configRequest", (evt) => {
    const detail = evt.detail;
    if (!detail || !detail.parameters) {
      return;
    }
    const verb = String(detail.verb || "").toLowerCase();
    if (verb === "get" || verb === "head") {
      return;
    }
    detail.parameters.device_time = new Date().toISOString();
  });

  /* ---------------------------------------------------------------- */
  /* Save state of an item                                             */
  /* ---------------------------------------------------------------- */

  function saveStateFor(elt) {
    if (!elt || typeof elt.closest !== "function") {
      return null;
    }
    const item = elt.closest(".item");
    return item ? item.querySelector(".save-state") : null;
  }

  function setSaveState(state, value, text) {
    if (!state) {
      return;
    }
    state.dataset.state = value;
    if (typeof text === "string") {
      let label = state.querySelector(".save-state-text");
      if (!label) {
        label = document.createElement("span");
        label.className = "save-state-text";
        state.prepend(label);
      }
      label.textContent = text;
    }
  }

  function collapse(text) {
    return String(text || "").replace(/\s+/g, " ").trim();
  }

  function clip(text) {
    const t = collapse(text);
    return t.length > MESSAGE_MAX ? t.slice(0, MESSAGE_MAX - 1) + "…" : t;
  }

  // A short, plain-text message from an error response. Prefers an element
  // with data-message, then a JSON {message|error}, then the page's text.
  // DOMParser documents run no scripts and load nothing.
  function messageFromResponse(xhr) {
    if (!xhr) {
      return "";
    }
    const body = typeof xhr.responseText === "string" ? xhr.responseText : "";
    const type = (xhr.getResponseHeader && xhr.getResponseHeader("Content-Type")) || "";
    if (type.indexOf("json") !== -1) {
      try {
        const data = JSON.parse(body);
        if (data && typeof data === "object") {
          return clip(data.message || data.error || data.description || "");
        }
      } catch (e) {
        /* not JSON after all */
      }
    }
    if (!body) {
      return "";
    }
    // Drop styles, scripts and style attributes first: even an inert parsed
    // document reports them as CSP violations.
    const html = body
      .replace(/<(script|style|template)\b[\s\S]*?<\/\1\s*>/gi, " ")
      .replace(/\sstyle\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, " ");
    try {
      const doc = new DOMParser().parseFromString(html, "text/html");
      const marked = doc.querySelector("[data-message]");
      if (marked && collapse(marked.getAttribute("data-message"))) {
        return clip(marked.getAttribute("data-message"));
      }
      for (const junk of doc.querySelectorAll("script, style, template, title, head")) {
        junk.remove();
      }
      if (!doc.body) {
        return "";
      }
      // Keep words from neighbouring blocks apart ("Conflict" + "The record…").
      const blocks = "address, article, aside, blockquote, br, dd, div, dl, dt, fieldset, " +
        "figcaption, footer, form, h1, h2, h3, h4, h5, h6, header, hr, li, main, nav, " +
        "ol, p, pre, section, table, td, th, tr, ul";
      for (const el of doc.body.querySelectorAll(blocks)) {
        el.after(" ");
      }
      return clip(doc.body.textContent);
    } catch (e) {
      return clip(html.replace(/<[^>]*>/g, " "));
    }
  }

  document.addEventListener("htmx:beforeRequest", (evt) => {
    setSaveState(saveStateFor(evt.detail && evt.detail.elt), "saving");
  });

  function connectionError(evt) {
    setSaveState(saveStateFor(evt.detail && evt.detail.elt), "error", SAVE_ERROR_OFFLINE);
  }

  document.addEventListener("htmx:sendError", connectionError);
  document.addEventListener("htmx:timeout", connectionError);

  document.addEventListener("htmx:responseError", (evt) => {
    const detail = evt.detail || {};
    const state = saveStateFor(detail.elt);
    if (!state) {
      return;
    }
    const message = messageFromResponse(detail.xhr);
    setSaveState(state, "error", message ? "Not saved — " + message : SAVE_ERROR_GENERIC);
  });

  // Normally the server's fragment replaces the item (with a fresh save state).
  // If the response swapped nothing there, a 2xx still means "saved".
  document.addEventListener("htmx:afterRequest", (evt) => {
    const detail = evt.detail || {};
    const xhr = detail.xhr;
    if (!xhr || !detail.successful || xhr.status < 200 || xhr.status >= 300) {
      return;
    }
    const state = saveStateFor(detail.elt);
    if (state && state.isConnected && state.dataset.state === "saving") {
      setSaveState(state, "saved", "Saved");
    }
  });

  /* ---------------------------------------------------------------- */
  /* Selects that submit their form (station picker)                   */
  /* ---------------------------------------------------------------- */

  document.addEventListener("change", (evt) => {
    const el = evt.target;
    if (!el || typeof el.matches !== "function" || !el.matches("[data-autosubmit]")) {
      return;
    }
    const form = el.form || el.closest("form");
    if (!form) {
      return;
    }
    // requestSubmit runs validation and fires "submit", so htmx-driven forms work too.
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  });

  /* ---------------------------------------------------------------- */
  /* The list of what stops a submit: each entry jumps to its item      */
  /* ---------------------------------------------------------------- */

  const JUMP_GAP = 8;

  // The item goes between the sticky fill header and the sticky submit bar, the whole of it when it fits
  // (its Save reason button included); on a screen too small for that, its reason form, else its head.
  // The list folds away first to make room. A sticky bar is stuck at the edge whenever it could cover
  // anything, so its own height is the margin to keep.
  function bringIntoView(element) {
    const header = document.querySelector(".fill-header");
    const bar = document.querySelector(".submit-bar");
    const top = (header ? header.offsetHeight : 0) + JUMP_GAP;
    const bottom = window.innerHeight - (bar ? bar.offsetHeight : 0) - JUMP_GAP;
    const fits = (elt) => elt.getBoundingClientRect().height <= bottom - top;
    const why = element.querySelector(".why-box");
    const part = fits(element) || !why ? element : why;
    const box = part.getBoundingClientRect();
    let delta = 0;
    if (!fits(part) || box.top < top) {
      delta = box.top - top;
    } else if (box.bottom > bottom) {
      delta = box.bottom - bottom;
    }
    window.scrollBy({ top: delta, left: 0, behavior: "instant" });
  }

  function firstField(element) {
    const needsWhy = element.querySelector(".why-box textarea");
    const fields = element.querySelectorAll("input:not([type=hidden]):not([disabled]), select, textarea, button");
    return needsWhy && !needsWhy.value ? needsWhy : fields[0] || null;
  }

  document.addEventListener("click", (evt) => {
    const link = evt.target && evt.target.closest ? evt.target.closest("a[data-jump]") : null;
    const element = link ? document.getElementById("item-" + link.dataset.jump) : null;
    if (!element) {
      return; // a hidden or unknown item: the plain #anchor does what it can
    }
    evt.preventDefault();
    const details = link.closest("details");
    if (details) {
      details.open = false;
    }
    bringIntoView(element);
    const field = firstField(element);
    if (field) {
      field.focus({ preventScroll: true }); // keyboard users carry on in the item, the page stays put
    }
    history.replaceState(history.state, "", "#item-" + link.dataset.jump);
  });

  // For outbox.js: the same save-state words and ids on every path (early-changes.js adds its edit test).
  window.Floorbook = { uuid4: uuid4, saveStateFor: saveStateFor, setSaveState: setSaveState };

  /* ---------------------------------------------------------------- */
  /* Start-up                                                          */
  /* ---------------------------------------------------------------- */

  // htmx fires htmx:load on <body> once at start and on every swapped-in element.
  document.addEventListener("htmx:load", (evt) => {
    fillUuids(evt.target);
  });

  function start() {
    // Fresh ids on every page load: a page the service worker kept must not start the same draft twice.
    for (const input of document.querySelectorAll("input[data-uuid]")) {
      input.value = "";
    }
    fillUuids(document);
    setupIdleLogout();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start, { once: true });
  } else {
    start();
  }
})();
