/* The guide page: its folded parts (the situations that skip the levels, the rules, the duties)
   open when a link leads into them, and the situations that skip the levels go on paper open.
   Without this script everything still works: a folded part opens with one click on its summary. */
(function () {
  "use strict";

  // open every fold around the element with this id (and the element, if it is a fold itself)
  function reveal(id) {
    var target = id && document.getElementById(id);
    var opened = false;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS" && !node.open) { node.open = true; opened = true; }
    }
    return opened;
  }

  function fromHash(hash) {
    try { return decodeURIComponent(hash.slice(1)); } catch (e) { return ""; }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href^='#']");
    if (link) { reveal(fromHash(link.getAttribute("href"))); }  // before the browser scrolls to it
  });
  window.addEventListener("hashchange", function () { reveal(fromHash(window.location.hash)); });
  if (window.location.hash.length > 1 && reveal(fromHash(window.location.hash))) {
    document.getElementById(fromHash(window.location.hash)).scrollIntoView();
  }

  // paper: folds marked data-print="open" print open, and are folded again afterwards
  var openedForPrint = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details[data-print=open]:not([open])").forEach(function (fold) {
      fold.open = true;
      openedForPrint.push(fold);
    });
  });
  window.addEventListener("afterprint", function () {
    openedForPrint.forEach(function (fold) { fold.open = false; });
    openedForPrint = [];
  });
}());
