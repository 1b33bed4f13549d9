/* Ballast: tables that fit the screen. A table wider than its box (a phone, a narrow window)
   shows each row as a card, every cell under its column's heading; it turns back into a table
   when there is room again. Tables that stack by their own rule (class "stack") are left alone.
   Runs on load, after htmx swaps a part of the page, and when the window's width changes. */
(function () {
  "use strict";

  function label(table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        if (!cell.hasAttribute("data-label") && heads[i]) cell.setAttribute("data-label", heads[i]);
      });
    });
  }

  function fit(root) {
    root.querySelectorAll("main table:not(.stack)").forEach(function (table) {
      table.classList.remove("stacked-rows");
      var parent = table.parentElement, style = window.getComputedStyle(parent);
      // The parent's content box: clientWidth counts its padding, which the table cannot use.
      var box = parent.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      if (table.scrollWidth > box + 1 && table.querySelector("thead th")) {
        label(table);
        table.classList.add("stacked-rows");
      }
    });
  }

  var width = window.innerWidth;
  var pending = null;
  window.addEventListener("resize", function () {
    if (window.innerWidth === width) return;  // a phone's toolbar showing or hiding
    width = window.innerWidth;
    clearTimeout(pending);
    pending = setTimeout(function () { fit(document); }, 100);
  });
  document.addEventListener("DOMContentLoaded", function () { fit(document); });
  document.addEventListener("htmx:afterSettle", function () { fit(document); });
})();
