// Bulk actions on list pages (servicedesk/bulk.py): select all and a count of the selection. The checkboxes belong to the toolbar's form by their form="" attribute.
(function () {
  "use strict";
  function boxes(form) {
    return Array.prototype.slice.call(document.querySelectorAll('input.bulk-select[form="' + form.id + '"]'));
  }
  function refresh(form) {
    var chosen = boxes(form).filter(function (box) { return box.checked; }).length;
    var count = form.querySelector("[data-bulk-count]");
    if (count) {
      count.textContent = chosen
        ? (form.dataset.selectedText || "%s").replace("%s", chosen)
        : (form.dataset.noneText || count.textContent);
    }
    form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = chosen === 0; });
    var all = document.querySelector('[data-bulk-all="' + form.id + '"]');
    if (all) {
      var total = boxes(form).length;
      all.checked = total > 0 && chosen === total;
      all.indeterminate = chosen > 0 && chosen < total;
    }
  }
  document.querySelectorAll("form[data-bulk-form]").forEach(function (form) {
    var count = form.querySelector("[data-bulk-count]");
    if (count && !form.dataset.noneText) form.dataset.noneText = count.textContent;
    refresh(form);  // the data-confirm question is asked by servicedesk.js, for every form
  });
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-bulk-all]")) {
      var form = document.getElementById(target.dataset.bulkAll);
      boxes(form).forEach(function (box) { box.checked = target.checked; });
      refresh(form);
    } else if (target.matches("input.bulk-select")) {
      refresh(document.getElementById(target.getAttribute("form")));
    }
  });
})();
