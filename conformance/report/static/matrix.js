/* The matrix page's only script: open a cell's detail in a dialog, and filter.
   Without it the page still works: a cell links to its detail below (:target). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var dialog = document.getElementById("detail-dialog");
  var body = dialog ? dialog.querySelector(".dialog-body") : null;
  var table = document.getElementById("matrix");
  var form = document.getElementById("filters");

  function openDetail(id) {
    var source = document.getElementById(id);
    if (!dialog || !body || !source) { return false; }
    var copy = source.cloneNode(true);
    copy.removeAttribute("id");
    copy.querySelectorAll("[data-facts]").forEach(function (dd) {  // the agents' key facts
      var facts = document.getElementById(dd.getAttribute("data-facts"));
      if (facts) { dd.replaceChildren(facts.content.cloneNode(true)); }
    });
    body.replaceChildren(copy);
    hideFilteredFunctions(copy);
    if (!dialog.open) { dialog.showModal(); }
    dialog.scrollTop = 0;
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-detail]") : null;
    if (link && openDetail(link.getAttribute("data-detail"))) {
      event.preventDefault();
    }
  });
  if (dialog) {
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) { dialog.close(); }  // a click on the backdrop
    });
  }
  if (location.hash.length > 1) { openDetail(decodeURIComponent(location.hash.slice(1))); }

  function hiddenFunctions() {
    var off = [];
    if (!form) { return off; }
    form.querySelectorAll("input[name=fn]").forEach(function (box) {
      if (!box.checked) { off.push(box.value); }
    });
    return off;
  }

  function hideFilteredFunctions(root) {
    var off = hiddenFunctions();
    root.querySelectorAll("[data-fn]").forEach(function (el) {
      el.hidden = off.indexOf(el.getAttribute("data-fn")) >= 0;
    });
  }

  function agentShown(el, homologation, engines, realOnly) {
    if (el.getAttribute("data-engine") === "1" && !engines) { return false; }
    if (realOnly && el.getAttribute("data-real") !== "1") { return false; }
    var homologated = el.getAttribute("data-homologated") === "1";
    if (homologation === "yes" && !homologated) { return false; }
    if (homologation === "no" && homologated) { return false; }
    return true;
  }

  function apply() {
    if (!table || !form) { return; }
    hideFilteredFunctions(table);
    var homologation = form.elements.homologation.value;
    var engines = form.elements.engines.checked;
    var realOnly = form.elements.real ? form.elements.real.checked : false;
    var onlyContradictions = form.elements.contradictions.checked;
    var heads = Array.prototype.slice.call(table.querySelectorAll("thead th.col"));
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var colShown = heads.map(function (th) { return agentShown(th, homologation, engines, realOnly); });
    var rowShown = rows.map(function (tr) { return agentShown(tr, homologation, engines, realOnly); });
    if (onlyContradictions) {
      var colHas = colShown.map(function () { return false; });
      rows.forEach(function (tr, i) {
        var has = false;
        tr.querySelectorAll("td[data-contra='1']").forEach(function (td) {
          var c = Number(td.getAttribute("data-col"));
          if (colShown[c] && rowShown[i]) { has = true; colHas[c] = true; }
        });
        rowShown[i] = rowShown[i] && has;
      });
      colShown = colShown.map(function (shown, c) { return shown && colHas[c]; });
    }
    heads.forEach(function (th, c) { th.hidden = !colShown[c]; });
    rows.forEach(function (tr, i) {
      tr.hidden = !rowShown[i];
      tr.querySelectorAll("td").forEach(function (td) {
        td.hidden = !colShown[Number(td.getAttribute("data-col"))];
        td.classList.toggle("dim", onlyContradictions && td.getAttribute("data-contra") !== "1");
      });
    });
  }

  if (form) {
    form.addEventListener("change", apply);
    apply();
  }
})();
