// Passkeys (WebAuthn) for the sign-in, second-factor and security pages. Each ceremony posts
// the page's form (CSRF token included) to a `begin` path for the options, asks the browser
// (navigator.credentials), and posts the answer as JSON text to the `finish` path, which answers
// {"location": ...} to go on or {"error": ...}. Without this script the pages still work with
// a password and TOTP; passkey buttons stay hidden.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function showError(root, message) {
    var box = root.querySelector("[data-passkey-error]");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  }

  function post(url, fields) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString()
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) {
          var err = new Error(body.error || "The request was refused (" + res.status + ").");
          // Somewhere to go first (sign in again): the page goes there.
          err.location = body.location;
          throw err;
        }
        return body;
      });
    });
  }

  function formFields(form) {
    var fields = {};
    new FormData(form).forEach(function (v, k) { fields[k] = v; });
    return fields;
  }

  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return { publicKey: pk };
  }

  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return { publicKey: pk };
  }

  function registration(cred) {
    return JSON.stringify({
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64url(cred.response.attestationObject),
        clientDataJSON: toB64url(cred.response.clientDataJSON),
        transports: cred.response.getTransports ? cred.response.getTransports() : undefined
      },
      extensions: cred.getClientExtensionResults()
    });
  }

  function assertion(cred) {
    var r = cred.response;
    return JSON.stringify({
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null
      },
      extensions: cred.getClientExtensionResults()
    });
  }

  // Sign in (usernameless) or second factor: <form data-passkey-get data-begin=... data-finish=...>.
  // A new request (the button) aborts the pending one (autofill); the begins are chained so the
  // server sees them in order and the challenge kept is the newest one's.
  var pending = null, begins = Promise.resolve();
  function getAssertion(form, mediation) {
    if (pending) pending.abort();
    var abort = new AbortController();
    pending = abort;
    var fields = formFields(form);
    var begun = begins.then(function () { return post(form.getAttribute("data-begin"), fields); });
    begins = begun.catch(function () {});
    return begun.then(function (options) {
      if (abort.signal.aborted) throw new DOMException("superseded", "AbortError");
      var request = requestOptions(options);
      request.signal = abort.signal;
      if (mediation) request.mediation = mediation;
      return navigator.credentials.get(request);
    }).then(function (cred) {
      fields.credential = assertion(cred);
      return post(form.getAttribute("data-finish"), fields);
    }).then(function (body) {
      window.location.assign(body.location);
    }).catch(function (e) {
      if (e && e.name === "AbortError") return;
      if (e && e.location) return window.location.assign(e.location);
      showError(form, e && e.message ? e.message : "The passkey could not be used.");
    });
  }

  document.querySelectorAll("form[data-passkey-get]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      getAssertion(form, null);
    });
    // Autofill (conditional UI) on the sign-in page, where the browser offers it.
    if (form.hasAttribute("data-conditional") && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) getAssertion(form, "conditional");
      });
    }
  });

  // Register: <form data-passkey-create data-begin=... data-finish=...> with a name field.
  document.querySelectorAll("form[data-passkey-create]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var fields = formFields(form);
      post(form.getAttribute("data-begin"), { csrf: fields.csrf }).then(function (options) {
        return navigator.credentials.create(creationOptions(options));
      }).then(function (cred) {
        fields.credential = registration(cred);
        return post(form.getAttribute("data-finish"), fields);
      }).then(function (body) {
        window.location.assign(body.location);
      }).catch(function (e) {
        if (e && e.location) return window.location.assign(e.location);
        showError(form, e && e.message ? e.message : "The passkey could not be registered.");
      });
    });
  });
})();
