// On a wide screen, a result opens beside the list instead of replacing it: the list
// keeps its place and the next job is one click away. Narrow screens, a modified click
// (new tab) and browsers without fetch follow the plain link to the job's own page.
(function () {
  "use strict";
  var pane = document.getElementById("detail-pane");
  if (!pane || !window.fetch || !window.matchMedia) {
    return;
  }
  var wide = window.matchMedia("(min-width: 90rem)");
  var layout = pane.parentElement;

  function show(link, html) {
    pane.innerHTML = html;
    pane.hidden = false;
    layout.classList.add("has-detail");
    document.querySelectorAll(".job-card.is-selected").forEach(function (card) {
      card.classList.remove("is-selected");
      card.querySelector(".job-title a").removeAttribute("aria-current");
    });
    var card = link.closest(".job-card");
    card.classList.add("is-selected");
    link.setAttribute("aria-current", "true");
    var title = pane.querySelector(".job-detail-title");
    if (title) {
      title.focus({ preventScroll: true });
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".job-card .job-title a");
    if (!link || !wide.matches || event.button !== 0 || event.ctrlKey || event.metaKey ||
        event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    var url = new URL(link.href);
    url.searchParams.set("partial", "1");
    fetch(url.toString(), { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) {
        throw new Error("status " + response.status);
      }
      return response.text();
    }).then(function (html) {
      show(link, html);
    }).catch(function () {
      window.location.href = link.href;  // the job's own page says what went wrong
    });
  });
})();
