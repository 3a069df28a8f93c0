// Small progressive enhancements; every page works without them.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var toggle = document.querySelector(".nav-toggle");
  var nav = document.getElementById("nav");
  if (toggle && nav) {
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  // A refused step shows its record's page again at the step's address: put the record's own
  // address back, so that reloading reads the record instead of posting the step again, and
  // bring the field that needs fixing into view.
  var canonical = document.body.getAttribute("data-canonical");
  if (canonical && window.history.replaceState) {
    window.history.replaceState(null, "", canonical);
  }
  var wrong = document.querySelector(".has-error input, .has-error select, .has-error textarea");
  if (wrong) {
    wrong.focus();
  }
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      // A form with a field still to fill goes to the server, which says what is missing next
      // to the field: nothing would happen, so there is nothing to confirm yet.
      if (button.form && !button.form.checkValidity()) {
        return;
      }
      if (!window.confirm(button.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
});

// Overlap hint on the finding form: findings the user can already see for the same unit with a
// similar title, fetched from the API as the title is typed.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("similar");
  var unit = document.querySelector("[data-similar-unit]");
  var title = document.querySelector("[data-similar-title]");
  if (!box || !unit || !title) {
    return;
  }
  var list = box.querySelector("ul");
  var exclude = box.getAttribute("data-exclude");
  var timer = null;
  function refresh() {
    if (!unit.value || title.value.trim().length < 2) {
      box.hidden = true;
      return;
    }
    var url = box.getAttribute("data-url") + "?unit=" + encodeURIComponent(unit.value) +
      "&title=" + encodeURIComponent(title.value.trim());
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (items) {
        list.textContent = "";
        items.filter(function (item) { return item.id !== exclude; }).forEach(function (item) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = "/findings/" + encodeURIComponent(item.id);
          a.textContent = item.title;
          li.appendChild(a);
          li.appendChild(document.createTextNode(" · " + item.owner.name));
          list.appendChild(li);
        });
        box.hidden = list.children.length === 0;
      })
      .catch(function () { box.hidden = true; });
  }
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  }
  unit.addEventListener("change", refresh);
  title.addEventListener("input", later);
  refresh();
});
