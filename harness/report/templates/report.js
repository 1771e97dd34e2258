(function () {
  "use strict";
  // Static filter for the control matrix. It reads only data-* attributes and text content and
  // writes only the hidden flag and a count: no target data is ever parsed as markup or code.
  var text = document.getElementById("f-text");
  var status = document.getElementById("f-status");
  var area = document.getElementById("f-area");
  var count = document.getElementById("f-count");
  var table = document.getElementById("matrix");
  if (!text || !status || !area || !count || !table) { return; }
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
  function apply() {
    var q = text.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var ok = (!status.value || row.getAttribute("data-status") === status.value) &&
        (!area.value || row.getAttribute("data-area") === area.value) &&
        (!q || row.textContent.toLowerCase().indexOf(q) !== -1);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " controls shown";
  }
  [text, status, area].forEach(function (el) {
    el.addEventListener("input", apply);
    el.addEventListener("change", apply);
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-filter-status]"), function (b) {
    b.addEventListener("click", function () {
      var wanted = b.getAttribute("data-filter-status");
      status.value = status.value === wanted ? "" : wanted;
      apply();
      table.scrollIntoView({ block: "start" });
    });
  });
  apply();
})();
