// Saving a job from a results page without leaving it. Without JavaScript each card's
// form posts and the server brings the visitor back to the same search, at the same card;
// with it, the form is sent with fetch and only the card changes.
(function () {
  "use strict";
  if (!window.fetch || !window.URLSearchParams || !window.FormData) {
    return;
  }

  function savedState(form, text) {
    var state = document.createElement("p");
    state.className = "saved-state small";
    state.setAttribute("role", "status");
    state.append(text + " ");
    var link = document.createElement("a");
    link.href = "/saved";
    link.textContent = "your board";
    state.append(link);
    form.replaceWith(state);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("save-form")) {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("button");
    var message = form.querySelector(".save-message");
    button.disabled = true;
    message.textContent = "";
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      if (response.status === 201) {
        savedState(form, "Saved to");
      } else if (response.status === 409) {
        savedState(form, "Already on");
      } else if (response.status === 401) {
        form.submit();  // signed out meanwhile: the plain form leads through sign-in
      } else {
        throw new Error("status " + response.status);
      }
    }).catch(function () {
      button.disabled = false;
      message.textContent = "Could not save right now. Please try again.";
    });
  });
})();
