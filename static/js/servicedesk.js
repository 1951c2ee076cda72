// servicedesk's own behaviour; no inline scripts (the CSP forbids them).
document.addEventListener("change", function (event) {
  const target = event.target;
  if (target.matches("select[data-autosubmit]")) {
    target.form.submit();
  }
  // Choosing a looked-up customer fills the contact fields that are still empty.
  if (target.matches("input[name=customer]")) {
    const form = target.form;
    for (const [field, key] of [["contact_name", "contactName"], ["contact_phone", "contactPhone"]]) {
      const input = form.elements[field];
      if (input && !input.value && target.dataset[key]) {
        input.value = target.dataset[key];
      }
    }
  }
});
// A button with data-confirm asks its question before an action that can never be undone (an approval, a
// bulk close); "Cancel" sends nothing.
document.addEventListener("submit", function (event) {
  const button = event.submitter;
  if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});

// Faster call logging (issue 16). Alt+Shift+N from any desk page opens "Log a call" (the menu's link).
document.addEventListener("keydown", function (event) {
  if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey && event.code === "KeyN") {
    const link = document.querySelector("a[data-shortcut=log-call]");
    if (link) {
      event.preventDefault();
      window.location.assign(link.href);
    }
  }
});

// Choosing a customer chooses its only site and its only product; the chosen product's warranty, or a running
// maintenance contract on the product or its site, sets the cover (until the dispatcher picks one by hand).
function coverOfChoices(form) {
  const product = form.querySelector("input[name=product]:checked");
  const site = form.querySelector("input[name=site]:checked");
  return (product && product.dataset.cover) || (site && site.dataset.cover) || "";
}

document.addEventListener("change", function (event) {
  const target = event.target;
  const form = target.form;
  if (!form || form.id !== "call-log-form") {
    return;
  }
  if (target.matches("select[name=coverage]")) {
    form.dataset.coverChosen = "1"; // setting .value below fires no change event: this one is the dispatcher's
  }
  if (target.matches("input[name=customer]")) {
    const option = target.closest(".customer-option");
    for (const name of ["site", "product"]) {
      const choices = option ? option.querySelectorAll("input[name=" + name + "]") : [];
      if (choices.length === 1 && !choices[0].checked) {
        choices[0].checked = true;
        choices[0].dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
  }
  if (target.matches("input[name=product], input[name=site]") && form.elements.coverage && !form.dataset.coverChosen) {
    const cover = coverOfChoices(form);
    if (cover) {
      form.elements.coverage.value = cover;
      form.dataset.coverSet = "1";
    } else if (form.dataset.coverSet) {
      form.elements.coverage.value = "unknown";  // a cover set for the previous choice does not carry over
      delete form.dataset.coverSet;
    }
  }
});

// The search text goes into "new customer" when nothing was found: a phone number or a name.
document.addEventListener("toggle", function (event) {
  const details = event.target;
  if (!(details instanceof HTMLDetailsElement) || !details.open) {
    return;
  }
  const form = details.closest("#call-log-form");
  const search = form && form.querySelector("#customer-search");
  const text = search ? search.value.trim() : "";
  if (!text) {
    return;
  }
  const field = /^[\d\s+()-]+$/.test(text) ? "new_customer_phone" : "new_customer_name";
  const input = form.elements[field];
  if (input && !input.value) {
    input.value = text;
  }
}, true);
