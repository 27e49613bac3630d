// assessment-hub console: copy buttons and "select all" (no inline script anywhere: the CSP forbids it).
document.addEventListener("click", function (event) {
  var copy = event.target.closest("button[data-copy]");
  if (copy) {
    var source = document.getElementById(copy.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent).then(function () {
        var label = copy.textContent;
        copy.textContent = "Copied";
        setTimeout(function () { copy.textContent = label; }, 1200);
      });
    }
  }
});
document.addEventListener("change", function (event) {
  var all = event.target.closest("input[data-select-all]");
  if (all) {
    var name = all.getAttribute("data-select-all");
    all.form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  }
});
