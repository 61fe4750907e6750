// "全选本页" on the review queue: without scripts it is a link that reloads the
// page with every box ticked; with them it ticks (or clears) the boxes in place.
document.addEventListener("click", function (event) {
  var link = event.target.closest("[data-select-all]");
  if (!link) return;
  var form = document.getElementById(link.getAttribute("data-select-all"));
  if (!form) return;
  event.preventDefault();
  var boxes = form.querySelectorAll('input[type="checkbox"][name="codes"]');
  var all = Array.prototype.every.call(boxes, function (b) { return b.checked; });
  Array.prototype.forEach.call(boxes, function (b) { b.checked = !all; });
});
