/* The connect page's one script (no inline script: the page's CSP allows scripts from the hub only).
 *
 * Inside @kombo-api/connect's iframe (window.parent !== window) it speaks that library's protocol: it posts
 * {type: "close"} when the customer closes before connecting, and {type: "success", data: {activation_token}}
 * when they finish; the library resolves or rejects its promise on these and removes the iframe. Opened
 * directly (a MAGIC_LINK) it posts nothing: the page itself says that the connection is done.
 */
(function () {
  "use strict";
  var embedded = window.parent !== window;
  document.documentElement.classList.add(embedded ? "embedded" : "standalone");

  function targetOrigin() {
    // The embedding page's origin when the browser tells it (Chromium, Safari), so the activation token goes
    // to that page only, even after the iframe navigated; "*" elsewhere (frame-ancestors limits who embeds).
    var ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length && ancestors[0] && ancestors[0] !== "null") return ancestors[0];
    return "*";
  }

  function tell(message) {
    if (embedded) window.parent.postMessage(message, targetOrigin());
  }

  function copy(button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) return;
    var shown = function (ok) {
      button.textContent = ok ? "Copied" : "Press Ctrl+C";
      input.focus();
      input.select();
    };
    var fallback = function () {
      input.focus();
      input.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      shown(ok);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(input.value).then(function () { shown(true); }, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-close],[data-finish],[data-copy]") : null;
    if (!target) return;
    if (target.hasAttribute("data-finish")) {
      event.preventDefault();
      tell({ type: "success", data: { activation_token: target.getAttribute("data-finish") } });
    } else if (target.hasAttribute("data-close")) {
      event.preventDefault();
      tell({ type: "close" });
    } else {
      event.preventDefault();
      copy(target);
    }
  });

  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("button[type=submit]");
    if (button) {
      // one submission at a time (the hub may be checking the key with the ATS)
      window.setTimeout(function () { button.disabled = true; button.textContent = "Connecting…"; }, 0);
    }
  });
})();
