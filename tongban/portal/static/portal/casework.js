/* The one-time notice of corrections: "Add a row" appends a blank row to the formset.
   Without JavaScript the page shows five blank rows and the button stays hidden. */
(function () {
  "use strict";
  var form = document.getElementById("correction-form");
  if (!form) { return; }
  var button = document.getElementById("correction-add");
  var template = document.getElementById("correction-row-template");
  var body = document.getElementById("correction-rows");
  var total = form.querySelector("input[name='corr-TOTAL_FORMS']");
  var max = form.querySelector("input[name='corr-MAX_NUM_FORMS']");
  if (!button || !template || !body || !total) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var index = parseInt(total.value, 10);
    if (max && index >= parseInt(max.value, 10)) { button.disabled = true; return; }
    var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__num__/g, String(index + 1));
    body.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var rows = body.querySelectorAll("tr");
    var first = rows[rows.length - 1].querySelector("select, input");
    if (first) { first.focus(); }
  });
}());
