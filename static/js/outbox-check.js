/*
 * Offline, the server cannot judge an answer, so the tablet does for numbers: a reading outside the
 * item's spec limits (data-lsl / data-usl, rendered by the server) is flagged at once and asks why,
 * as the server would. The reason goes into the outbox (outbox.js) like any change; once the
 * connection is back the server judges both again and its verdict is the one that counts.
 * Meanwhile an answer kept on the tablet shows as answered (not "To do") and the progress bar counts it.
 */
(function () {
  "use strict";

  /* ---------------------------------------------------------------- */
  /* Offline: a number outside its spec still asks why at once         */
  /* ---------------------------------------------------------------- */

  function readings(item) {
    return item.entries.filter((e) => e[0] === "value" || e[0].startsWith("sample_"))
      .map((e) => parseFloat(String(e[1]).replace(",", "."))).filter((n) => !Number.isNaN(n));
  }

  function check(element, item) {
    const lsl = parseFloat(element.dataset.lsl);
    const usl = parseFloat(element.dataset.usl);
    const out = readings(item).some((n) => n < lsl || n > usl);
    const box = element.querySelector("[data-local-why]");
    if (!out) {
      if (box) {
        box.remove();
      }
      return;
    }
    const pill = element.querySelector(".item-state");
    if (pill) {
      pill.className = "item-state item-state--fail";
      pill.textContent = "✗ Out of spec";
    }
    if (!box && !element.querySelector(".why-box") && element.dataset.explainUrl) {
      element.append(whyBox(element));
    }
  }

  function field(form, tag, name, labelText) {
    const label = document.createElement("label");
    label.textContent = labelText;
    const input = document.createElement(tag);
    input.name = name;
    input.id = "local-" + name + "-" + form.dataset.item;
    label.htmlFor = input.id;
    if (tag === "textarea") {
      input.rows = 2;
    }
    form.append(label, input);
    return input;
  }

  function whyBox(element) {
    const form = document.createElement("form");
    form.className = "why-box";
    form.dataset.localWhy = "";
    form.dataset.item = element.dataset.item;
    const note = document.createElement("p");
    note.className = "why-label";
    note.setAttribute("role", "status");
    note.textContent = "⚠ Out of spec. The supervisors see it as soon as the connection is back.";
    form.append(note);
    const select = field(form, "select", "cause_category", "Cause category");
    for (const name of [""].concat(JSON.parse(element.dataset.causes || "[]"))) {
      select.append(new Option(name || "Not known yet", name));
    }
    field(form, "textarea", "reason", element.dataset.prompt || "What happened, and what did you do?").required = true;
    field(form, "textarea", "action", "Action taken");
    const button = document.createElement("button");
    button.className = "btn btn-danger";
    button.type = "submit";
    button.textContent = "Save reason";
    form.append(button);
    return form;
  }

  document.addEventListener("submit", (evt) => {
    const form = evt.target;
    if (!form.matches || !form.matches("[data-local-why]")) {
      return;
    }
    evt.preventDefault();
    const element = form.closest(".item");
    const entries = Array.from(new FormData(form).entries());
    const token = document.querySelector('meta[name="csrf-token"]');
    entries.push(["csrf_token", token ? token.content : ""]);
    window.FloorbookOutboxPage.keepChange(element.dataset.explainUrl, entries, element, "explain");
  });

  /* ---------------------------------------------------------------- */
  /* Offline: an answer kept on the tablet shows, and progress counts it */
  /* ---------------------------------------------------------------- */

  const CHECK_WORDS = { pass: ["ok", "✓ Pass"], fail: ["fail", "✗ Fail"], na: ["na", "N/A"] };

  function given(item) {
    return item.entries.some((e) => (e[0] === "value" || e[0] === "photo" || e[0].startsWith("sample_")) &&
      (e[1] instanceof Blob || String(e[1]).trim() !== ""));
  }

  function answered(element, item) {
    element.dataset.localAnswer = given(item) ? "1" : "";
    const pill = element.querySelector(".item-state");
    const judged = element.querySelector("[data-local-why]"); // check() has said out of spec
    if (!pill || judged || !element.dataset.localAnswer) {
      return;
    }
    // A check's verdict is its answer; any other answer is judged by the server once it has it.
    const checked = element.querySelector(".segment-input:checked");
    const words = checked ? CHECK_WORDS[checked.value] : null;
    if (words || element.classList.contains("item--unanswered")) {
      pill.className = "item-state item-state--" + (words ? words[0] : "local");
      pill.textContent = words ? words[1] : "✓ Answered";
    }
  }

  // The server's counts (refreshed by every save it answers) plus the answers the tablet keeps for required
  // items the server has none for (data-unanswered), and the reason each local out-of-spec asks for.
  function progress() {
    const bar = document.getElementById("progress");
    if (!bar || bar.dataset.answered === undefined) {
      return;
    }
    const open = new Set((bar.dataset.unanswered || "").split(" "));
    let done = parseInt(bar.dataset.answered, 10);
    let all = parseInt(bar.dataset.required, 10);
    for (const element of document.querySelectorAll(".item[data-local-answer]")) {
      done += element.dataset.localAnswer && open.has(element.dataset.item) ? 1 : 0;
      if (element.querySelector("[data-local-why]")) {
        all += 1;
        done += element.dataset.localReason ? 1 : 0;
      }
    }
    const meter = bar.querySelector("progress");
    meter.max = all || 1;
    meter.value = all ? done : 1;
    bar.querySelector(".progress-text").textContent = done + " of " + all + " done";
  }

  // Called by the outbox for each change it keeps for an item of this page.
  function kept(element, item) {
    if (item.kind === "answer") {
      check(element, item);
    }
    if (item.state !== "waiting") {
      return; // refused: the item says why, and it does not count
    }
    if (item.kind === "answer" || item.kind === "photo") {
      answered(element, item);
    }
    if (item.kind === "explain" && element.querySelector("[data-local-why]")) {
      element.dataset.localAnswer = element.dataset.localAnswer || "";
      element.dataset.localReason = item.entries.some((e) => e[0] === "reason" && String(e[1]).trim()) ? "1" : "";
    }
    progress();
  }

  // The server's fragments replace items and the bar (on a save, or when the outbox delivers): count again.
  document.addEventListener("htmx:afterSettle", progress);
  document.addEventListener("floorbook:outbox", progress);

  window.FloorbookLocalCheck = { check: check, kept: kept, progress: progress };
})();
