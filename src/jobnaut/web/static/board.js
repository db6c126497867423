// Progressive enhancement for the saved-jobs board. Without this file every form posts
// and the server redirects back to the board (tabs are links, "Undo remove" is a form);
// with it, the same forms are sent with fetch, cards can be dragged between columns,
// tabs switch in place and a removal can be undone from the message it leaves.
(function () {
  "use strict";
  var board = document.querySelector("[data-board]");
  if (!board || !window.fetch || !window.URLSearchParams) {
    return;
  }
  var boardMessage = document.querySelector("[data-board-message]");

  function say(card, text, isError) {
    var box = card && card.querySelector("[data-message]");
    if (box) {
      box.textContent = text;
      box.classList.toggle("error-message", Boolean(isError));
    }
  }

  function announce(text, action) {
    if (!boardMessage) {
      return;
    }
    boardMessage.textContent = text;
    if (action) {
      boardMessage.appendChild(document.createTextNode(" "));
      boardMessage.appendChild(action);
    }
  }

  function column(status) {
    return board.querySelector('.column[data-status="' + status + '"]');
  }

  function recount() {
    board.querySelectorAll(".column").forEach(function (col) {
      var n = col.querySelectorAll("[data-card]").length;
      col.querySelector("[data-count]").textContent = n;
      var tab = document.querySelector('[data-tab="' + col.dataset.status + '"] [data-tab-count]');
      if (tab) {
        tab.textContent = n;
      }
    });
  }

  function post(url, body) {
    return fetch(url, {
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
          throw new Error((data && data.error && data.error.message) || "That did not work.");
        }
        return data;
      });
    });
  }

  function send(form) {
    return post(form.action, new URLSearchParams(new FormData(form)));
  }

  function statusLabel(status) {
    var heading = column(status);
    return heading ? heading.querySelector("h2").firstChild.textContent.trim() : status;
  }

  function titleOf(card) {
    return card.querySelector(".job-title").textContent.trim();
  }

  // -- tabs (phones) -------------------------------------------------------------------

  function showColumn(status) {
    board.querySelectorAll(".column").forEach(function (col) {
      col.classList.toggle("is-active", col.dataset.status === status);
    });
    document.querySelectorAll("[data-tab]").forEach(function (tab) {
      if (tab.dataset.tab === status) {
        tab.setAttribute("aria-current", "page");
      } else {
        tab.removeAttribute("aria-current");
      }
    });
    if (window.history.replaceState) {
      window.history.replaceState(null, "", "/saved?column=" + encodeURIComponent(status));
    }
  }

  document.querySelectorAll("[data-tab]").forEach(function (tab) {
    tab.addEventListener("click", function (event) {
      event.preventDefault();
      showColumn(tab.dataset.tab);
    });
  });

  // -- moving --------------------------------------------------------------------------

  function move(card, status) {
    var form = card.querySelector("[data-move]");
    var select = form.querySelector("select");
    var before = select.value;
    select.value = status;
    return send(form).then(function (data) {
      select.value = data.status;
      var target = column(data.status).querySelector("[data-cards]");
      target.insertBefore(card, target.firstChild);
      recount();
      var text = "Moved “" + titleOf(card) + "” to " + statusLabel(data.status) + ".";
      say(card, "Moved to " + statusLabel(data.status) + ".");
      announce(text);
    }).catch(function (error) {
      select.value = before;
      say(card, error.message || "That did not work. Please try again.", true);
      announce(error.message || "That did not work. Please try again.");
    });
  }

  // -- removing, with undo -------------------------------------------------------------

  function undoButton(card, home, form) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button-small button-secondary";
    button.textContent = "Undo";
    button.addEventListener("click", function () {
      button.disabled = true;
      var body = new URLSearchParams();
      body.set("csrf_token", form.querySelector('[name="csrf_token"]').value);
      var url = form.action.replace(/\/delete$/, "/restore");
      post(url, body).then(function (data) {
        var target = column(data.status || home).querySelector("[data-cards]");
        target.insertBefore(card, target.firstChild);
        recount();
        announce("“" + titleOf(card) + "” is back on your board.");
      }).catch(function (error) {
        button.disabled = false;
        announce(error.message || "That did not work. Please try again.");
      });
    });
    return button;
  }

  function unsave(card, form) {
    var home = card.closest(".column").dataset.status;
    return send(form).then(function () {
      card.remove();
      recount();
      var undo = undoButton(card, home, form);
      announce("Removed “" + titleOf(card) + "” from your board.", undo);
      undo.focus();
    });
  }

  board.addEventListener("submit", function (event) {
    var form = event.target;
    var card = form.closest("[data-card]");
    if (!card) {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    var done;
    if (form.hasAttribute("data-move")) {
      done = move(card, form.querySelector("select").value).then(function () {
        form.querySelector("select").focus();
      });
    } else if (form.hasAttribute("data-unsave")) {
      done = unsave(card, form);
    } else {
      done = send(form).then(function () { say(card, "Notes saved."); });
    }
    done.catch(function (error) {
      say(card, error.message || "That did not work. Please try again.", true);
    }).then(function () {
      button.disabled = false;
    });
  });

  // -- drag and drop -------------------------------------------------------------------

  var dragged = null;

  board.querySelectorAll("[data-card]").forEach(function (card) {
    card.setAttribute("draggable", "true");
  });

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("[data-card]");
    if (!card) {
      return;
    }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.id);
  });

  board.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("dragging");
    }
    dragged = null;
    board.querySelectorAll(".drop-target").forEach(function (col) {
      col.classList.remove("drop-target");
    });
  });

  board.addEventListener("dragover", function (event) {
    var col = event.target.closest && event.target.closest(".column");
    if (!dragged || !col) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    board.querySelectorAll(".drop-target").forEach(function (other) {
      if (other !== col) {
        other.classList.remove("drop-target");
      }
    });
    col.classList.add("drop-target");
  });

  board.addEventListener("drop", function (event) {
    var col = event.target.closest && event.target.closest(".column");
    if (!dragged || !col) {
      return;
    }
    event.preventDefault();
    col.classList.remove("drop-target");
    var card = dragged;
    if (card.closest(".column") !== col) {
      move(card, col.dataset.status);
    }
  });
})();
