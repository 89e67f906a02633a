/*
 * Downtime on a tablet without the network: Report downtime and Running again go into the outbox like
 * answers (outbox.js), and until the server has them the station home shows them from the outbox:
 * DOWN with the reason and since when, then "Running again", each marked as saved on this tablet.
 * A downtime started offline has no id here, so its stop goes to POST /floor/downtime/stop by station.
 */
(function () {
  "use strict";

  const panel = document.getElementById("downtime-panel");
  const KINDS = ["downtime", "downtime-stop"];

  function entry(item, name) {
    const found = item.entries.find((e) => e[0] === name);
    return found ? String(found[1]) : "";
  }

  // Called by the outbox as it keeps a change: the words the station home and the outbox list show.
  function describe(item) {
    if (item.kind === "downtime") {
      const checked = document.querySelector('[data-outbox-downtime] input[name="reason_code"]:checked');
      const label = checked && document.querySelector('label[for="' + CSS.escape(checked.id) + '"]');
      item.reasonLabel = label ? label.textContent.trim() : entry(item, "reason_code");
      item.label = "Downtime: " + item.reasonLabel;
    } else if (item.kind === "downtime-stop") {
      item.label = "Running again: " + entry(item, "fix");
    }
  }

  // A downtime reported on the reason page goes back to the station home, which shows it.
  function kept(item) {
    const waiting = (item.state || "waiting") === "waiting";
    if (item.kind === "downtime" && waiting && window.location.pathname.startsWith("/floor/downtime/")) {
      window.location.assign("/floor");
    }
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className || "";
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function state(item) {
    return item.state === "waiting" ? "⇡ Saved on this tablet: sent when the connection is back."
      : "Not sent — " + item.error;
  }

  function downBanner(item) {
    const banner = element("div", "downtime-banner");
    banner.dataset.localDowntime = "";
    const head = element("p", "downtime-headline");
    const since = new Date(entry(item, "device_time") || item.createdAt);
    head.append(element("span", "downtime-icon", "⚠"), " ", element("strong", "", "DOWN"), " · " + item.reasonLabel + " ",
                element("span", "downtime-since", "(since " + since.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + ")"));
    const form = element("form", "downtime-stop");
    form.dataset.localStop = "";
    const field = element("div", "field");
    const label = element("label", "", "What fixed it?");
    label.htmlFor = "downtime-fix";
    const fix = element("textarea");
    Object.assign(fix, { id: "downtime-fix", name: "fix", rows: 2, maxLength: 2000, required: true });
    field.append(label, fix);
    form.append(field, element("button", "btn btn-large btn-block btn-running", "Running again"));
    banner.append(head, element("p", "downtime-meta", state(item)), form);
    return banner;
  }

  function runningAgain(item) {
    const note = element("p", "alert alert-ok", "✓ Running again. Fixed: " + entry(item, "fix") + " " + state(item));
    note.setAttribute("role", "status");
    const report = element("a", "btn btn-danger btn-large btn-block", "Report downtime");
    report.href = "/floor/downtime/new?station_id=" + encodeURIComponent(panel.dataset.stationId);
    return [note, report];
  }

  function render(mine) {
    const here = mine.filter((i) => KINDS.includes(i.kind) && i.stationId === panel.dataset.stationId)
      .sort((a, b) => a.seq - b.seq);
    const last = here[here.length - 1];
    if (!last) {
      if (panel.dataset.local === "yes" && navigator.onLine !== false) {
        window.location.reload(); // the server has them all: its own panel is the truth again
      }
      return;
    }
    panel.dataset.local = "yes";
    panel.replaceChildren(...(last.kind === "downtime" ? [downBanner(last)] : runningAgain(last)));
  }

  if (panel && panel.dataset.stationId) {
    document.addEventListener("floorbook:outbox", (evt) => render(evt.detail.mine));
    panel.addEventListener("submit", (evt) => {
      const form = evt.target;
      if (!form.matches("[data-local-stop]")) {
        return;
      }
      evt.preventDefault();
      const fix = form.elements.fix.value.trim();
      if (!fix) {
        form.elements.fix.reportValidity();
        return;
      }
      const entries = [["station_id", panel.dataset.stationId], ["fix", fix], ["device_time", new Date().toISOString()]];
      window.FloorbookOutboxPage.keepChange("/floor/downtime/stop", entries, panel, "downtime-stop");
    });
  }
  window.FloorbookDowntime = { describe: describe, kept: kept };
})();
