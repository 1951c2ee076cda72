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
