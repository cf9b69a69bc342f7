// Keys page: clear the create form once a key was made (its secret is shown above it).
"use strict";

(function () {
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.matches && form.matches("form[hx-post='/console/keys']") && event.detail.successful) {
      form.reset();
    }
  });
})();
