// tutti's one script: streams a running AI worker's output into its run
// card. Everything else works without it (htmx only makes it smoother).
(function () {
  function follow(root) {
    root.querySelectorAll("[data-stream]").forEach(function (box) {
      if (box.dataset.following) return;
      box.dataset.following = "1";
      var source = new EventSource(box.dataset.stream);
      var fresh = true;
      source.addEventListener("text", function (event) {
        if (fresh) { box.textContent = ""; fresh = false; }
        box.textContent += event.data;
      });
      source.addEventListener("end", function (event) {
        source.close();
        try {
          var end = JSON.parse(event.data);
          if (end.output) box.textContent = end.output;
        } catch (e) { /* keep what was streamed */ }
        // The run ended: show its final state and the review form.
        window.location.reload();
      });
      source.onerror = function () { source.close(); };
    });
  }
  document.addEventListener("DOMContentLoaded", function () { follow(document); });
  document.addEventListener("htmx:afterSettle", function (event) { follow(event.target); });
})();
