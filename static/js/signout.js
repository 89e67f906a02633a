/*
 * Shared tablets: signing out with changes still waiting warns (they stay on the tablet and are sent
 * as their author's), every sign-out names those changes to the server (their author's token sends only
 * them from then on), and drops the pages the service worker kept for this person and htmx's history
 * copy, so the next person sees none of them.
 */
(function () {
  "use strict";

  function forgetPages() {
    try {
      window.localStorage.removeItem("htmx-history-cache");
    } catch (e) {
      /* storage unavailable */
    }
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "forget-pages" });
    }
  }

  // What this person leaves waiting in the outbox: the sign-out names each change (its key and path), and
  // from then on their token sends only those, so the next person at the tablet cannot use it for more.
  async function waitingChanges() {
    const store = window.FloorbookOutbox;
    const meta = document.querySelector('meta[name="floorbook-user"]');
    if (!store || !meta || !window.indexedDB) {
      return [];
    }
    try {
      const items = await store.all();
      return items
        .filter((item) => item.owner === meta.content && (item.state === "waiting" || item.state === "signin"))
        .map((item) => [item.key, new URL(item.url, window.location.href).pathname]);
    } catch (e) {
      return []; // storage unavailable: nothing can be waiting in it
    }
  }

  async function signOut(form, reason, fallbackUrl) {
    const fields = { waiting: JSON.stringify(await waitingChanges()), reason: reason || "" };
    for (const [name, value] of Object.entries(fields)) {
      let input = form.querySelector('input[name="' + name + '"]');
      if (!input) {
        input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        form.appendChild(input);
      }
      input.value = value;
      input.disabled = value === ""; // an empty reason is not sent
    }
    forgetPages();
    if (!fallbackUrl) {
      form.submit(); // submit() fires no submit event: this handler does not run again
      return;
    }
    // The idle timer: sent in the background, so a connection that is not there leaves the tablet on the
    // sign-in page it keeps (fallbackUrl) instead of a browser error.
    try {
      const response = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" });
      window.location.assign(response.ok ? response.url : fallbackUrl);
    } catch (e) {
      window.location.assign(fallbackUrl);
    }
  }

  document.addEventListener("submit", (evt) => {
    const form = evt.target;
    if (!form.matches || !form.matches("[data-sign-out]")) {
      return;
    }
    evt.preventDefault();
    const dialog = document.getElementById("sign-out-warning");
    const waiting = Number(document.body.dataset.outboxCount || "0"); // outbox.js keeps it current
    if (waiting > 0 && dialog) {
      dialog.querySelector("[data-outbox-count]").textContent = String(waiting);
      dialog.showModal();
      return;
    }
    signOut(form);
  });

  document.addEventListener("click", (evt) => {
    const button = evt.target.closest && evt.target.closest("[data-sign-out-anyway]");
    if (button) {
      signOut(document.querySelector("form[data-sign-out]"));
    }
  });

  window.FloorbookSignOut = { forgetPages: forgetPages, signOut: signOut };
})();
