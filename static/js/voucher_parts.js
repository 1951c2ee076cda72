// The voucher form's part rows: add a row when a part is needed, and keep a running total of
// parts and labour as the technician types (the server computes the amount due when it saves).
// No inline script: the CSP forbids it.
(function () {
  "use strict";

  const form = document.getElementById("voucher-form");
  const rows = document.getElementById("part-rows");
  const template = document.getElementById("part-row-template");
  const totalOut = document.getElementById("running-total");
  if (!form || !rows || !template || !totalOut) {
    return;
  }
  const prefix = rows.dataset.prefix;
  const totalForms = form.elements[prefix + "-TOTAL_FORMS"];
  const maxForms = form.elements[prefix + "-MAX_NUM_FORMS"];
  const addButton = document.getElementById("add-part");

  // Catalogue prices by part number, from the datalist the page carries.
  const prices = {};
  document.querySelectorAll("#catalogue-parts option").forEach(function (option) {
    prices[option.value.trim().toUpperCase()] = option.dataset.price;
  });

  // Money in fen (integers), so that 0.1 + 0.2 is 0.30.
  function fen(text) {
    const value = String(text || "").trim().replace(",", ".");
    if (!/^\d+(\.\d{0,2})?$/.test(value)) {
      return null;
    }
    const [whole, fraction = ""] = value.split(".");
    return parseInt(whole, 10) * 100 + parseInt((fraction + "00").slice(0, 2), 10);
  }

  function yuan(amount) {
    return Math.floor(amount / 100) + "." + String(amount % 100).padStart(2, "0");
  }

  function field(row, name) {
    return row.querySelector("[name$='-" + name + "']");
  }

  function recompute() {
    let total = fen(form.elements.labour_charge && form.elements.labour_charge.value) || 0;
    rows.querySelectorAll("[data-part-row]").forEach(function (row) {
      const number = (field(row, "part_number").value || "").trim().toUpperCase();
      const quantity = parseInt(field(row, "quantity").value, 10);
      if (!number || !(quantity > 0)) {
        return;
      }
      const typed = fen(field(row, "unit_price").value);
      const price = typed !== null ? typed : fen(prices[number]);
      if (price !== null) {
        total += price * quantity;
      }
    });
    totalOut.textContent = yuan(total) + " " + totalOut.dataset.yuan;
  }

  function addRow() {
    const count = parseInt(totalForms.value, 10);
    if (maxForms && count >= parseInt(maxForms.value, 10)) {
      return;
    }
    const html = template.innerHTML.replace(/__prefix__/g, String(count));
    rows.insertAdjacentHTML("beforeend", html);
    totalForms.value = String(count + 1);
    const added = rows.lastElementChild;
    const first = added && field(added, "part_number");
    if (first) {
      first.focus();
    }
    if (maxForms && count + 1 >= parseInt(maxForms.value, 10)) {
      addButton.disabled = true;
    }
  }

  if (addButton) {
    addButton.addEventListener("click", addRow);
  }
  form.addEventListener("input", recompute);
  form.addEventListener("change", recompute);
  recompute();
})();
