// agentpay passkey pages: WebAuthn ceremonies through the JSON endpoints
// under /webauthn/. Every POST carries the page's CSRF token.
"use strict";

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

function showStatus(message) {
  const el = document.getElementById("status");
  if (el) el.textContent = message;
}

async function post(url, body) {
  const r = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: JSON.stringify(body === undefined ? {} : body),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(j.error ? j.error.code + ": " + j.error.message : "HTTP " + r.status);
  return j;
}

async function addPasskey() {
  try {
    showStatus("Follow your browser's prompt…");
    const begun = await post("/webauthn/register/begin");
    const options = PublicKeyCredential.parseCreationOptionsFromJSON(begun.options.publicKey);
    const credential = await navigator.credentials.create({ publicKey: options });
    await post("/webauthn/register/finish?ceremony=" + encodeURIComponent(begun.ceremony), credential.toJSON());
    window.location.reload();
  } catch (e) {
    showStatus("Adding a passkey failed: " + e.message);
  }
}

async function logIn(event) {
  try {
    showStatus("Follow your browser's prompt…");
    const begun = await post("/webauthn/login/begin");
    const options = PublicKeyCredential.parseRequestOptionsFromJSON(begun.options.publicKey);
    const credential = await navigator.credentials.get({ publicKey: options });
    const next = event.target.dataset.next || "";
    const done = await post("/webauthn/login/finish?ceremony=" + encodeURIComponent(begun.ceremony) +
      "&next=" + encodeURIComponent(next), credential.toJSON());
    window.location.assign(done.redirect);
  } catch (e) {
    showStatus("Logging in failed: " + e.message);
  }
}

// approveLink signs the decision on the linking page with a passkey: the
// server derives the challenge from exactly these scopes and limits (tip
// limits included).
async function approveLink() {
  try {
    const form = document.getElementById("link-form");
    const scopes = Array.from(form.querySelectorAll('input[name="scope"]:checked')).map((e) => e.value);
    showStatus("Follow your browser's prompt…");
    const begun = await post("/link/approve/begin", {
      user_code: form.elements.user_code.value,
      scopes: scopes,
      limits: {
        per_payment: form.elements.per_payment.value,
        per_day: form.elements.per_day.value,
        per_month: form.elements.per_month.value,
      },
      // The tip fields are on the page only when the agent asks for tips.
      tip_auto_approve_max: form.elements.tip_auto_approve_max ? form.elements.tip_auto_approve_max.value : "",
      tip_budget_per_day: form.elements.tip_budget_per_day ? form.elements.tip_budget_per_day.value : "",
      time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone || "",
    });
    const options = PublicKeyCredential.parseRequestOptionsFromJSON(begun.options.publicKey);
    const credential = await navigator.credentials.get({ publicKey: options });
    const done = await post("/link/approve/finish?ceremony=" + encodeURIComponent(begun.ceremony), credential.toJSON());
    window.location.assign(done.redirect);
  } catch (e) {
    showStatus("Approving failed: " + e.message);
  }
}

document.addEventListener("DOMContentLoaded", function () {
  const approve = document.getElementById("approve-link");
  if (approve) approve.addEventListener("click", approveLink);
  const add = document.getElementById("add-passkey");
  if (add) add.addEventListener("click", addPasskey);
  const login = document.getElementById("login");
  if (login) login.addEventListener("click", logIn);
});
