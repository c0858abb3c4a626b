// Enhancements only: every page works without this file.
(function () {
  "use strict";
  // "Held for you until 14:10": a live countdown beside it.
  document.querySelectorAll("[data-countdown]").forEach(function (box) {
    var left = parseInt(box.getAttribute("data-countdown"), 10);
    var out = box.querySelector(".countdown");
    if (!out || isNaN(left)) return;
    var started = Date.now();
    function tick() {
      var remaining = Math.max(0, left - Math.floor((Date.now() - started) / 1000));
      var m = Math.floor(remaining / 60), s = remaining % 60;
      out.textContent = remaining > 0 ? "(" + m + ":" + (s < 10 ? "0" : "") + s + " left)" : "(expired)";
      if (remaining > 0) window.setTimeout(tick, 1000);
    }
    tick();
  });
  // The browser's time zone: offer it when the page shows another and none was chosen.
  var select = document.querySelector("[data-zone-select]");
  if (select && !select.getAttribute("data-zone-asked") && window.Intl) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var known = zone && Array.prototype.some.call(select.options, function (o) { return o.value === zone; });
    if (known && select.value !== zone) {
      var url = new URL(window.location.href);
      url.searchParams.set("tz", zone);
      var p = document.createElement("p");
      var a = document.createElement("a");
      a.href = url.toString();
      a.textContent = "Show times in your time zone (" + zone + ")";
      p.appendChild(a);
      select.form.insertAdjacentElement("afterend", p);
    }
  }
})();
