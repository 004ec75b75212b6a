// tutti's one script: streams a running AI worker's output into its run
// card, and reads a file chosen for an import into its form. Everything
// else works without it (htmx only makes it smoother).
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
  // A file chosen for an import is read into the sheet's text field, so
  // the form sends it as if pasted (without the script, paste it).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.dataset || !input.dataset.fills || !input.files || !input.files[0]) return;
    input.files[0].text().then(function (text) {
      document.getElementById(input.dataset.fills).value = text;
    });
  });
  document.addEventListener("DOMContentLoaded", function () { follow(document); });
  document.addEventListener("htmx:afterSettle", function (event) { follow(event.target); });
})();
