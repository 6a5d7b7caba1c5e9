/* The research director's workspace (issue 8): small enhancements; every page works without them. */
(function () {
  "use strict";

  // Dates and times in the reader's own time zone: the server reads this cookie
  // (collaboratory/timezone.py) from the next request on.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && /^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) {
      var current = document.cookie.split("; ").find(function (c) { return c.indexOf("tz=") === 0; });
      if (!current || decodeURIComponent(current.slice(3)) !== zone) {
        var secure = location.protocol === "https:" ? "; secure" : "";
        document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax" + secure;
      }
    }
  } catch (error) { /* older browsers: the server's time zone is used */ }

  // Glossary terms: Escape hides an open definition (WCAG 1.4.13) until the pointer or focus leaves.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    document.querySelectorAll(".gloss").forEach(function (term) {
      if (term.matches(":hover") || term.contains(document.activeElement)) { term.classList.add("gloss--dismissed"); }
    });
  });
  document.addEventListener("focusout", function (event) {
    var term = event.target.closest && event.target.closest(".gloss");
    if (term) { term.classList.remove("gloss--dismissed"); }
  });
  document.addEventListener("mouseout", function (event) {
    var term = event.target.closest && event.target.closest(".gloss");
    if (term && !term.contains(event.relatedTarget)) { term.classList.remove("gloss--dismissed"); }
  });

  // Wide tables scroll inside their .table-wrap on narrow screens: make such a region
  // reachable and scrollable with the keyboard, and name it after its section.
  function focusableScrollers() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        if (!wrap.hasAttribute("tabindex")) {
          var section = wrap.closest("section");
          var heading = section && section.querySelector("h2, h3");
          wrap.setAttribute("tabindex", "0");
          wrap.setAttribute("role", "region");
          wrap.setAttribute("aria-label", (heading ? heading.textContent.trim() + ": " : "") + "table, scrolls sideways");
          wrap.dataset.madeFocusable = "1";
        }
      } else if (wrap.dataset.madeFocusable) {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
        delete wrap.dataset.madeFocusable;
      }
    });
  }
  focusableScrollers();
  var resizeTimer;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(focusableScrollers, 150);
  });

  // A secret address is easiest to copy when focusing it selects it.
  document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
