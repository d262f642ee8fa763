/* What every page does with htmx answers that are not a plain success.
 *
 * Loaded after htmx (both deferred, so in order). Which answers are swapped is
 * set in base.html's htmx-config: 2xx swap (204 does not), 4xx swap into the
 * request's target, anything else (5xx) is not swapped and is an error.
 *
 * - A rejected form (4xx, HTML) comes back as the same fragment with its
 *   errors inside the form that caused them: open what hides that form and
 *   move focus to the first field in error, else to the message.
 * - A 4xx that is not HTML (a plain-text or JSON refusal) would replace the
 *   target with raw text: its text is shown as a message instead.
 * - A server error, or no answer at all: the page stays as it was and a
 *   message says so inside the form (or panel) that asked.
 */
(function () {
  "use strict";

  var MESSAGE_CLASS = "htmx-error";

  function isHtml(xhr) {
    return /text\/html/.test(xhr.getResponseHeader("Content-Type") || "");
  }

  function refusalText(xhr) {
    var text = (xhr.responseText || "").trim();
    try {
      var data = JSON.parse(text);
      if (data && typeof data === "object") {
        text = data.detail || Object.keys(data).map(function (k) {
          return k + ": " + [].concat(data[k]).join(" ");
        }).join("; ");
      }
    } catch (ignored) {
      // plain text: shown as it is
    }
    return text.slice(0, 500) || "That was refused (error " + xhr.status + ").";
  }

  // The form (or panel) a request came from; null for a link or button on its own.
  function holderOf(elt) {
    if (!elt || !elt.closest) {
      return null;
    }
    return elt.closest("form") || (elt.matches("a, button, input, select") ? null : elt);
  }

  // Where to say it: inside that form or panel, else the page's message area
  // (which stays until the next page: the bell's polling must not wipe it).
  function boxFor(elt) {
    var holder = holderOf(elt);
    if (!holder || !document.body.contains(holder)) {
      return document.getElementById("page-error");
    }
    var box = holder.querySelector(":scope > ." + MESSAGE_CLASS);
    if (!box) {
      box = document.createElement("p");
      box.className = MESSAGE_CLASS + " form-error";
      box.setAttribute("role", "alert");
      holder.prepend(box);
    }
    return box;
  }

  function say(elt, text) {
    var box = boxFor(elt);
    if (box) {
      box.textContent = text;
      box.hidden = false;
    }
  }

  function clear(elt) {
    var holder = holderOf(elt);
    var box = holder && holder.querySelector(":scope > ." + MESSAGE_CLASS);
    if (box) {
      box.remove();
    }
  }

  function showError(root) {
    var first = root.querySelector("[aria-invalid='true']") ||
      root.querySelector("[role='alert']");
    if (!first) {
      return;
    }
    for (var d = first.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) {
      d.open = true;
    }
    if (!first.matches("input, select, textarea, button, a[href]")) {
      first.setAttribute("tabindex", "-1");
    }
    first.focus();
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    clear(event.detail.elt);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.status < 500 && !isHtml(xhr)) {
      event.detail.shouldSwap = false;
      say(event.detail.elt, refusalText(xhr));
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status >= 400 && event.target instanceof Element) {
      showError(event.target);
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status >= 400 && status < 500) {
      return; // swapped, or shown by beforeSwap
    }
    say(event.detail.elt, "The server failed (error " + status + ") and logged it. " +
      "Reload the page to see where things stand, then try again.");
  });

  document.addEventListener("htmx:sendError", function (event) {
    say(event.detail.elt, "The server did not answer. Check your connection, then try again.");
  });
})();

/* On a phone the header's pages fold under a Menu button (CSS shows the button
 * and hides the list below 768 px only once this has run: without JavaScript
 * the list simply stays open). */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector(".nav-toggle");
    var items = document.getElementById("nav-items");
    if (!toggle || !items) {
      return;
    }
    document.documentElement.classList.add("has-nav-toggle");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      items.classList.toggle("is-open", open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && items.classList.contains("is-open")) {
        toggle.setAttribute("aria-expanded", "false");
        items.classList.remove("is-open");
        toggle.focus();
      }
    });
  });
})();
