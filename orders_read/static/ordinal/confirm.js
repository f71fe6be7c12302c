// Ask before submitting with a button that carries data-confirm (an inline onclick
// handler would be refused by the Content-Security-Policy).
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
