/* The inbox from the keyboard (and the filters applied on change).
 *
 *   j / k        next / previous lead          a   accept
 *   r            reject (form opens in place, reason picker focused)
 *   t            log a touch                   o, Enter   open the lead
 *   ?            the list of shortcuts         Esc        close a form or the list
 *
 * The current lead is the row that has focus (or holds it). After an action
 * answers, its row is swapped by htmx; focus then moves to the next lead, so a
 * rep can work down the list without the mouse. Keys typed into a field, or
 * with Ctrl, Alt or Meta, are left alone. No inline script anywhere (CSP).
 */
(function () {
  "use strict";

  var ROW = "[data-lead]";
  var pendingRow = null; // the id of the row whose action is on its way

  function list() {
    return document.querySelector("[data-inbox]");
  }

  function rows() {
    var holder = list();
    return holder ? Array.prototype.slice.call(holder.querySelectorAll(ROW)) : [];
  }

  function current() {
    var active = document.activeElement;
    return active && active.closest ? active.closest(ROW) : null;
  }

  function focusRow(row) {
    if (!row) {
      return;
    }
    rows().forEach(function (r) {
      r.classList.toggle("is-current", r === row);
    });
    row.focus();
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = rows();
    if (!all.length) {
      return;
    }
    var index = all.indexOf(current());
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : index + step;
    focusRow(all[Math.max(0, Math.min(all.length - 1, next))]);
  }

  function openForm(row, name) {
    var details = row && row.querySelector("details[data-shortcut='" + name + "']");
    if (!details) {
      return false;
    }
    details.open = true;
    var field = details.querySelector("select, textarea, input:not([type=hidden])");
    if (field) {
      field.focus();
    }
    return true;
  }

  function showShortcuts() {
    var dialog = document.getElementById("inbox-shortcuts");
    if (dialog && !dialog.open) {
      dialog.showModal();
    }
  }

  function typing(target) {
    return target && target.closest && target.closest("input, select, textarea, [contenteditable]");
  }

  document.addEventListener("keydown", function (event) {
    if (!list() || event.ctrlKey || event.altKey || event.metaKey) {
      return;
    }
    if (event.key === "Escape") {
      var open = event.target.closest && event.target.closest("details[open]");
      if (open) {
        open.open = false;
        focusRow(open.closest(ROW));
        event.preventDefault();
      }
      return;
    }
    if (typing(event.target) || document.querySelector("dialog[open]")) {
      return;
    }
    var row = current();
    var handled = true;
    switch (event.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "?":
        showShortcuts();
        break;
      case "a":
        var accept = row && row.querySelector("[data-shortcut='accept']");
        if (accept) {
          accept.click();
        } else {
          handled = false;
        }
        break;
      case "r":
        handled = openForm(row, "reject");
        break;
      case "t":
        handled = openForm(row, "touch");
        break;
      case "o":
      case "Enter":
        // Enter on a link or button inside the row does what it always does.
        if (event.key === "Enter" && event.target !== row) {
          handled = false;
          break;
        }
        var link = row && row.querySelector("[data-open]");
        if (link) {
          link.click();
        } else {
          handled = false;
        }
        break;
      default:
        handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  });

  // Clicking into a row makes it the current one (for the next j / k).
  document.addEventListener("focusin", function (event) {
    var row = event.target.closest && event.target.closest(ROW);
    if (row && list() && list().contains(row)) {
      rows().forEach(function (r) {
        r.classList.toggle("is-current", r === row);
      });
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var row = event.detail.elt.closest && event.detail.elt.closest(ROW);
    pendingRow = row && list() && list().contains(row) ? row.id : null;
  });

  // A success: on to the next lead. A refusal keeps focus where app.js put it
  // (the field in error, inside the form that stays open).
  document.addEventListener("htmx:afterSettle", function (event) {
    var xhr = event.detail.xhr;
    if (!pendingRow || !xhr || xhr.status >= 300) {
      return;
    }
    var row = document.getElementById(pendingRow);
    pendingRow = null;
    if (!row) {
      return;
    }
    var all = rows();
    var index = all.indexOf(row);
    focusRow(all[index + 1] || row);
  });

  document.addEventListener("DOMContentLoaded", function () {
    var opener = document.querySelector("[data-shortcuts-open]");
    if (opener) {
      opener.hidden = false;
      opener.addEventListener("click", showShortcuts);
    }
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () {
        select.form.requestSubmit();
      });
    });
  });
})();
