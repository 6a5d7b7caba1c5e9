/* Step from one change of a redline to the next with the keyboard (progressive enhancement).
 *
 * Changes are the elements agreements/redline.py gives an id starting with "chg-" (the first
 * element of each change). In the side-by-side view a change has an "-old" and a "-new"
 * element; it is visited once. Keys: j or n = next change, k or p = previous change (not
 * while typing in a form field, nor with Ctrl/Alt/Meta). The "Previous/Next change" links
 * of the toolbar step from the current change; without JavaScript they are plain anchors.
 */
(function () {
  "use strict";

  var targets = [];
  var current = -1;
  var status = document.querySelector("[data-redline-status]");

  function collect() {
    var seen = {};
    var found = [];
    var elements = document.querySelectorAll('[id^="chg-"]');
    for (var order = 0; order < elements.length; order++) {
      var element = elements[order];
      var base = element.id.replace(/-(old|new)$/, "");
      if (seen[base]) continue;
      seen[base] = true;
      var match = base.match(/^(.*?)(h-)?(\d+)$/);
      var holder = element.closest("[data-clause-index]");
      found.push({
        element: element,
        clause: holder ? Number(holder.getAttribute("data-clause-index")) : 0,
        part: match && match[2] ? 0 : 1,  // a heading's changes come before the body's
        number: match ? Number(match[3]) : 0,
        order: order
      });
    }
    found.sort(function (a, b) {
      return a.clause - b.clause || a.part - b.part || a.number - b.number || a.order - b.order;
    });
    return found.map(function (item) { return item.element; });
  }

  function reveal(element) {
    for (var node = element.parentElement; node; node = node.parentElement) {
      if (node.tagName === "DETAILS" && !node.open) node.open = true;
    }
  }

  function go(index) {
    if (!targets.length) return;
    current = Math.max(0, Math.min(targets.length - 1, index));
    var element = targets[current];
    reveal(element);
    var previous = document.querySelector(".is-current-change");
    if (previous) previous.classList.remove("is-current-change");
    element.classList.add("is-current-change");
    if (!element.hasAttribute("tabindex")) element.setAttribute("tabindex", "-1");
    element.focus({ preventScroll: true });
    element.scrollIntoView({ block: "center", behavior: "auto" });
    if (history.replaceState) history.replaceState(null, "", "#" + element.id);
    if (status) status.textContent = "Change " + (current + 1) + " of " + targets.length;
    var prev = document.querySelector('[data-redline-nav="prev"]');
    if (prev) prev.hidden = current <= 0;
  }

  /* Where "next" starts when the reader has not stepped yet: after what is on screen. */
  function nearest(direction) {
    if (current >= 0) return current + direction;
    var middle = window.innerHeight / 2;
    for (var i = 0; i < targets.length; i++) {
      if (targets[i].getBoundingClientRect().top > middle - 1) {
        return direction > 0 ? i : i - 1;
      }
    }
    return direction > 0 ? targets.length - 1 : targets.length - 1;
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function init() {
    targets = collect();
    if (!targets.length) return;
    var hash = window.location.hash.slice(1);
    for (var i = 0; i < targets.length; i++) {
      if (targets[i].id === hash) current = i;
    }
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
      var key = event.key;
      if (key === "j" || key === "n") {
        event.preventDefault();
        go(nearest(1));
      } else if (key === "k" || key === "p") {
        event.preventDefault();
        go(nearest(-1));
      }
    });
    var buttons = document.querySelectorAll("[data-redline-nav]");
    for (var b = 0; b < buttons.length; b++) {
      buttons[b].addEventListener("click", function (event) {
        event.preventDefault();
        go(nearest(this.getAttribute("data-redline-nav") === "prev" ? -1 : 1));
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
