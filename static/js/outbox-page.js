/*
 * The outbox page (/floor/outbox): the signed-in person's waiting changes with their state and last
 * problem; a refused one (or one the server keeps failing on) can be tried again or discarded. Other
 * people's changes are only counted.
 */
(function () {
  "use strict";

  const section = document.querySelector("[data-outbox-page]");
  if (!section || !window.FloorbookOutbox) {
    return;
  }
  const store = window.FloorbookOutbox;
  const STATES = { waiting: "Waiting for the connection", rejected: "Refused by the server", signin: "Needs sign-in" };

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.append(td);
    return td;
  }

  function button(label, action, seq, style) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "btn " + style;
    b.textContent = label;
    b.dataset.action = action;
    b.dataset.seq = String(seq);
    return b;
  }

  // A change the server keeps failing on (not refusing) holds up everything after it: after a few
  // tries it may be discarded, so one bad change does not keep the rest of the shift's work waiting.
  const STUCK_AFTER = 3;
  const stuck = (item) => item.state === "waiting" && item.attempts >= STUCK_AFTER && !!item.error
    && item.error !== store.NO_CONNECTION;

  function render(mine, others) {
    const rows = section.querySelector("[data-outbox-rows]");
    rows.replaceChildren();
    for (const item of mine.sort((a, b) => a.seq - b.seq)) {
      const row = document.createElement("tr");
      row.dataset.state = item.state;
      cell(row, new Date(item.createdAt).toLocaleString());
      cell(row, item.label);
      cell(row, STATES[item.state] || item.state);
      cell(row, String(item.attempts));
      cell(row, item.error || "—");
      const actions = cell(row, "");
      if (item.state !== "waiting" || stuck(item)) {
        actions.append(button("Try again", "retry", item.seq, "btn-secondary"), " ",
                       button("Discard", "discard", item.seq, "btn-danger"));
      }
      rows.append(row);
    }
    section.querySelector("[data-outbox-table]").hidden = mine.length === 0;
    section.querySelector("[data-outbox-actions]").hidden = mine.length === 0;
    section.querySelector("[data-outbox-empty]").hidden = mine.length !== 0;
    const note = section.querySelector("[data-outbox-others]");
    note.hidden = others === 0;
    note.textContent = others + " change(s) made by other people are also waiting on this tablet; they are sent as theirs.";
  }

  document.addEventListener("floorbook:outbox", (evt) => render(evt.detail.mine, evt.detail.others));

  section.addEventListener("click", async (evt) => {
    const target = evt.target.closest("button");
    if (!target) {
      return;
    }
    const page = window.FloorbookOutboxPage;
    if (target.matches("[data-outbox-send]")) {
      await page.flush();
      return;
    }
    const item = page.items().find((i) => String(i.seq) === target.dataset.seq);
    if (!item) {
      return;
    }
    if (target.dataset.action === "discard") {
      const question = "Discard this change? If the server has not received it, it is lost." +
        (item.kind === "start" ? " Answers to this form made on this tablet will then be refused." : "");
      if (!window.confirm(question)) {
        return;
      }
      await store.remove(item.seq);
    } else {
      item.state = "waiting";
      await store.put(item);
    }
    store.changed();
    await page.refresh();
    await page.flush();
  });
})();
