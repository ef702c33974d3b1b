// agentpay payment pages: approving a payment with a passkey, and live
// updates of the payment page and the account's payments by server-sent
// events. Every POST carries the page's CSRF token.
"use strict";

(function () {
  function token() {
    return document.querySelector('meta[name="csrf-token"]').content;
  }

  function say(message) {
    const el = document.getElementById("status");
    if (el) el.textContent = message;
  }

  // postJSON posts body and returns the JSON answer; a refusal throws an
  // Error with the server's code and message.
  async function postJSON(url, body) {
    const r = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token() },
      body: JSON.stringify(body === undefined ? {} : body),
    });
    const text = await r.text();
    let j = null;
    try {
      j = JSON.parse(text);
    } catch (e) {
      j = null;
    }
    if (!r.ok) {
      const err = new Error(j && j.error ? j.error.message : text.trim() || "HTTP " + r.status);
      err.code = j && j.error ? j.error.code : text.trim();
      throw err;
    }
    return j;
  }

  let busy = false; // an approval is under way
  let stale = false; // the payment changed meanwhile

  function pagePath(el) {
    return "/pay/" + encodeURIComponent(el.dataset.payment);
  }

  function reloadChanged(el, notice) {
    window.location.assign(pagePath(el) + "?notice=" + notice);
  }

  // approvePayment signs the payment as shown (its version) and the fields
  // shared: the server derives the challenge from exactly that.
  async function approvePayment(el) {
    if (busy) return;
    busy = true;
    try {
      const share = Array.from(document.querySelectorAll('input[name="share"]:checked')).map((e) => e.value);
      say("Follow your browser's prompt…");
      const begun = await postJSON(pagePath(el) + "/approve/begin", {
        version: Number(el.dataset.version),
        share: share,
      });
      if (begun.already_approved) {
        window.location.assign(begun.redirect);
        return;
      }
      const options = PublicKeyCredential.parseRequestOptionsFromJSON(begun.options.publicKey);
      const credential = await navigator.credentials.get({ publicKey: options });
      say("Approving…");
      const done = await postJSON(
        pagePath(el) + "/approve/finish?ceremony=" + encodeURIComponent(begun.ceremony),
        credential.toJSON(),
      );
      window.location.assign(done.redirect);
    } catch (e) {
      busy = false;
      if (e.code === "payment_changed") {
        say("This payment changed after you opened it, so your approval was not used. Showing the new version…");
        window.setTimeout(() => reloadChanged(el, "changed"), 1500);
        return;
      }
      if (e.code === "exceeds_credits") {
        say("Not approved: " + e.message + ". Top up on your account page.");
        return;
      }
      say("Approving failed: " + e.message);
      if (stale) reloadChanged(el, "changed");
    }
  }

  // watchPayment reloads the page when the payment's version or status
  // changes while the user looks at it (an agent's update, an expiry).
  function watchPayment(el) {
    if (!window.EventSource || el.dataset.live !== "true") return;
    const events = new EventSource(pagePath(el) + "/events");
    events.addEventListener("payment", (ev) => {
      let d;
      try {
        d = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      const versionChanged = String(d.version) !== el.dataset.version;
      if (!versionChanged && d.status === el.dataset.status) return;
      if (busy) {
        stale = true; // the approval's own outcome reloads the page
        return;
      }
      events.close();
      say("This payment just changed: showing it as it is now…");
      reloadChanged(el, versionChanged ? "changed" : "status");
    });
  }

  // watchPayments keeps the account page current: any change to the
  // listed payments, or a new one, reloads the page (balances follow),
  // unless the user is typing in a form, when the rows change in place.
  function watchPayments(table) {
    if (!window.EventSource) return;
    const events = new EventSource("/account/events");
    events.addEventListener("payments", (ev) => {
      let items;
      try {
        items = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      const typing = document.activeElement && document.activeElement.tagName === "INPUT";
      let unknown = false;
      const changed = [];
      for (const it of items) {
        const row = document.getElementById("payment-" + it.id);
        if (!row) unknown = true;
        else if (row.dataset.status !== it.status || row.dataset.version !== String(it.version)) changed.push([row, it]);
      }
      if (!unknown && changed.length === 0) return;
      if (!typing) {
        events.close();
        window.location.reload(); // balances follow payments
        return;
      }
      // The user is typing: update the rows in place and say so.
      for (const [row, it] of changed) {
        row.dataset.status = it.status;
        row.dataset.version = String(it.version);
        const status = row.querySelector(".status");
        status.textContent = it.status_label;
        status.className = "status status-" + it.status;
        row.querySelector(".total").textContent = it.total;
        const review = row.querySelector(".needs-you");
        if (review && it.status !== "requires_approval") review.remove();
      }
      say("Your payments changed: reload the page to see them all and your balance.");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const payment = document.getElementById("payment");
    if (payment) {
      const approve = document.getElementById("approve-payment");
      if (approve) approve.addEventListener("click", () => approvePayment(payment));
      watchPayment(payment);
    }
    const list = document.getElementById("payments");
    if (list && list.dataset.live === "true") watchPayments(list);
  });
})();
