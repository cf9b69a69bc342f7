// Keys page: once a key was made (its secret is shown above the form), clear the form and
// any earlier error message.
"use strict";

(function () {
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.matches || !form.matches("form[hx-post='/console/keys']")) return;
    if (!event.detail.successful) return;
    form.reset();
    var flash = document.getElementById("flash");
    if (flash) flash.textContent = "";
  });
})();
