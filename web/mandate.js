// agentpay mandate page: approving a mandate's terms with a passkey. The
// server derives the challenge from the mandate as stored, so the page
// sends nothing but the passkey's answer. Every POST carries the page's
// CSRF token.
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

  let busy = false;

  async function approveMandate(el) {
    if (busy) return;
    busy = true;
    const path = "/mandates/" + encodeURIComponent(el.dataset.mandate);
    try {
      say("Follow your browser's prompt…");
      const begun = await postJSON(path + "/approve/begin", {});
      if (begun.already_approved) {
        window.location.assign(begun.redirect);
        return;
      }
      const options = PublicKeyCredential.parseRequestOptionsFromJSON(begun.options.publicKey);
      const credential = await navigator.credentials.get({ publicKey: options });
      say("Approving…");
      const done = await postJSON(
        path + "/approve/finish?ceremony=" + encodeURIComponent(begun.ceremony),
        credential.toJSON(),
      );
      window.location.assign(done.redirect);
    } catch (e) {
      busy = false;
      say("Approving failed: " + e.message);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const mandate = document.getElementById("mandate");
    const approve = document.getElementById("approve-mandate");
    if (mandate && approve) approve.addEventListener("click", () => approveMandate(mandate));
  });
})();
