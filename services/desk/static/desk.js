// The story page follows the story's event stream: on new events it fetches the page again
// and swaps in its live sections (rendered, and escaped, by the server). No inline script.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  if (!status || !status.dataset.stream || !window.EventSource) { return; }
  var TYPES = ["StoryDefined", "ArticleAttached", "ArticleAnalyzed", "DevelopmentDetected",
               "DevelopmentCorroborated", "MatterStatusChanged", "ConflictFlagged",
               "StoryArchived"];
  var pending = null;
  var seen = [];

  function refresh() {
    pending = null;
    fetch(window.location.href, {credentials: "same-origin", headers: {Accept: "text/html"}})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["timeline", "articles", "matters", "conflicts", "counts", "version"].forEach(function (id) {
          var now = document.getElementById(id);
          var next = fresh.getElementById(id);
          if (now && next) { now.replaceWith(document.importNode(next, true)); }
        });
        status.textContent = "Live: updated " + new Date().toLocaleTimeString() +
          (seen.length ? " (" + seen.join(", ") + ")" : "");
        seen = [];
      });
  }

  var source = new EventSource(status.dataset.stream);
  TYPES.forEach(function (type) {
    source.addEventListener(type, function () {
      if (type === "ArticleAttached") { seen.push("new article"); }
      if (type === "DevelopmentDetected") { seen.push("new development"); }
      if (pending === null) { pending = window.setTimeout(refresh, 300); }
    });
  });
})();
