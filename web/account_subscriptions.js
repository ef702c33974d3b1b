// agentpay account page: keeps the Subscriptions section current by
// server-sent events. A subscription charged, paused or canceled elsewhere
// (or a new one) reloads the page, unless the user is typing in a form:
// then the rows' statuses change in place and the page says so.
"use strict";

(function () {
  function typing() {
    const el = document.activeElement;
    return !!el && (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA");
  }

  function watchSubscriptions(section) {
    if (!window.EventSource) return;
    const events = new EventSource("/account/subscriptions/events");
    events.addEventListener("subscriptions", (ev) => {
      let items;
      try {
        items = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      let changed = items.length !== section.querySelectorAll("tr.subscription").length;
      const rows = [];
      for (const it of items) {
        const row = document.getElementById("subscription-" + it.id);
        if (!row) changed = true;
        else if (row.dataset.status !== it.status || row.dataset.version !== String(it.version)) {
          changed = true;
          rows.push([row, it]);
        }
      }
      if (!changed) return;
      if (!typing()) {
        events.close();
        window.location.reload();
        return;
      }
      for (const [row, it] of rows) {
        row.dataset.status = it.status;
        row.dataset.version = String(it.version);
        const status = row.querySelector(".status");
        status.textContent = it.status_label;
        status.className = "status status-" + it.status;
        // The buttons were for the old status; the server would refuse
        // those that no longer apply.
        row.querySelectorAll("form.subscription-action").forEach((f) => f.remove());
      }
      const say = document.getElementById("status");
      if (say) say.textContent = "Your subscriptions changed: reload the page to see them as they are now.";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const section = document.getElementById("subscriptions");
    if (section && section.dataset.live === "true") watchSubscriptions(section);
  });
})();
