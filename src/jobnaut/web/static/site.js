// A confirmation (?notice=…) is shown once: take it out of the address, so a reload or a
// bookmark does not say "Job saved" again. The page itself is unchanged.
(function () {
  "use strict";
  if (!window.URL || !window.history || !window.history.replaceState) {
    return;
  }
  var url = new URL(window.location.href);
  if (!url.searchParams.has("notice")) {
    return;
  }
  url.searchParams.delete("notice");
  url.searchParams.delete("removed");  // the undo offer goes with its notice
  var query = url.searchParams.toString();
  window.history.replaceState(null, "", url.pathname + (query ? "?" + query : "") + url.hash);
})();
