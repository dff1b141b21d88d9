/* The progress of an import job or reconciliation run: polls the page's JSON endpoint every second
   while the job runs, updates the bar and the counts, and reloads the page once it has finished
   (the report and the final counts are then on the page). Without JavaScript the page shows the
   state it was loaded in. */
(function () {
  "use strict";
  var box = document.getElementById("job-progress");
  if (!box || !box.dataset.progressUrl) { return; }
  var url = box.dataset.progressUrl;
  var bar = document.getElementById("job-progress-bar");
  var failures = 0;

  function show(data) {
    var nodes = document.querySelectorAll("[data-progress]");
    for (var i = 0; i < nodes.length; i += 1) {
      var key = nodes[i].getAttribute("data-progress");
      if (Object.prototype.hasOwnProperty.call(data, key)) {
        var value = data[key];
        nodes[i].textContent = value === null ? "?" : String(value);
      }
    }
    if (bar) { bar.value = data.percent; bar.textContent = data.percent + "%"; }
    var hints = box.querySelectorAll("[data-show-when]");
    for (var j = 0; j < hints.length; j += 1) {
      hints[j].hidden = hints[j].getAttribute("data-show-when") !== data.status;
    }
    var status = box.querySelector("[data-progress='status_label']");
    if (status) { status.className = "status status-" + data.status; }
  }

  function poll() {
    var request = new XMLHttpRequest();
    request.open("GET", url, true);
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      if (request.status !== 200) { failures += 1; schedule(); return; }
      failures = 0;
      var data = JSON.parse(request.responseText);
      show(data);
      if (data.finished) { window.location.reload(); return; }
      schedule();
    };
    request.onerror = function () { failures += 1; schedule(); };
    request.send();
  }

  function schedule() {
    if (failures > 20) { return; }
    window.setTimeout(poll, failures ? 5000 : 1000);
  }

  schedule();
}());
