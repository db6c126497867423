// Progressive enhancement for the saved-jobs board. Without this file every form posts
// and the server redirects back to the board; with it, the same forms are sent with
// fetch and the card is updated in place.
(function () {
  "use strict";
  var board = document.querySelector("[data-board]");
  if (!board || !window.fetch || !window.URLSearchParams) {
    return;
  }

  function say(card, text, isError) {
    var box = card.querySelector("[data-message]");
    if (box) {
      box.textContent = text;
      box.classList.toggle("error-message", Boolean(isError));
    }
  }

  function recount() {
    board.querySelectorAll(".column").forEach(function (column) {
      var count = column.querySelector("[data-count]");
      if (count) {
        count.textContent = column.querySelectorAll("[data-card]").length;
      }
    });
  }

  function send(form) {
    var body = new URLSearchParams(new FormData(form));
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (response.status === 401) {
        window.location.href = "/signin?next=" + encodeURIComponent("/saved");
        return new Promise(function () {});
      }
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) {
          var message = (data && data.error && data.error.message) || "That did not work.";
          throw new Error(message);
        }
        return data;
      });
    });
  }

  function statusLabel(form, status) {
    var option = form.querySelector('option[value="' + status + '"]');
    return option ? option.textContent : status;
  }

  board.addEventListener("submit", function (event) {
    var form = event.target;
    var card = form.closest("[data-card]");
    if (!card) {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) {
      button.disabled = true;
    }
    send(form)
      .then(function (data) {
        if (form.hasAttribute("data-move")) {
          var target = board.querySelector('.column[data-status="' + data.status + '"] [data-cards]');
          if (target) {
            target.insertBefore(card, target.firstChild);
          }
          recount();
          say(card, "Moved to " + statusLabel(form, data.status) + ".");
          var select = form.querySelector("select");
          if (select) {
            select.focus();
          }
        } else if (form.hasAttribute("data-notes")) {
          say(card, "Notes saved.");
        } else if (form.hasAttribute("data-unsave")) {
          card.remove();
          recount();
        }
      })
      .catch(function (error) {
        say(card, error.message || "That did not work. Please try again.", true);
      })
      .then(function () {
        if (button) {
          button.disabled = false;
        }
      });
  });
})();
