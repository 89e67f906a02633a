/*
 * Shared tablets: signing out with changes still waiting warns (they stay on the tablet and are sent
 * as their author's), and every sign-out drops the pages the service worker kept for this person
 * and htmx's history copy, so the next person sees none of them.
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

  document.addEventListener("submit", (evt) => {
    const form = evt.target;
    if (!form.matches || !form.matches("[data-sign-out]")) {
      return;
    }
    const dialog = document.getElementById("sign-out-warning");
    const waiting = Number(document.body.dataset.outboxCount || "0"); // outbox.js keeps it current
    if (waiting > 0 && dialog && form.dataset.confirmed !== "yes") {
      evt.preventDefault();
      dialog.querySelector("[data-outbox-count]").textContent = String(waiting);
      dialog.showModal();
      return;
    }
    forgetPages();
  });

  document.addEventListener("click", (evt) => {
    const button = evt.target.closest && evt.target.closest("[data-sign-out-anyway]");
    if (button) {
      const form = document.querySelector("form[data-sign-out]");
      form.dataset.confirmed = "yes";
      forgetPages();
      form.submit();
    }
  });

  window.FloorbookSignOut = { forgetPages: forgetPages };
})();
