// Documents section of an agreement: while a PDF is queued or rendering, poll the JSON status
// and redraw the list, so "Rendering" turns into "Ready" with a download link without a
// reload. Progressive enhancement: without JavaScript the server-rendered list still works.
(function () {
  "use strict";
  var section = document.getElementById("documents");
  if (!section || !window.fetch) return;
  var list = section.querySelector(".documents__list");
  var url = section.getAttribute("data-status-url");
  var started = Date.now();
  var delay = 1500;
  var MAX_DELAY = 10000;
  var GIVE_UP_AFTER = 15 * 60 * 1000;

  function csrfToken() {
    var input = section.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function row(job) {
    var item = el("li", "document-row document-row--" + job.status);
    item.setAttribute("data-job-id", job.id);
    item.setAttribute("data-status", job.status);
    var what = el("div", "document-row__what");
    what.appendChild(el("span", "document-row__kind", job.kind_label));
    if (!job.current_text) {
      what.appendChild(document.createTextNode(" "));
      what.appendChild(el("span", "tag", "earlier text"));
    }
    what.appendChild(document.createTextNode(" "));
    what.appendChild(
      el("span", "badge badge--render-" + job.status + " document-row__status", job.status_label)
    );
    item.appendChild(what);
    item.appendChild(el("p", "document-row__message", job.message));
    var actions = el("div", "document-row__actions");
    if (job.download_url) {
      var download = el("a", "button", "Download PDF");
      download.href = job.download_url;
      download.setAttribute("download", "");
      actions.appendChild(download);
    }
    if (job.verify_url) {
      var verify = el("a", "button button--quiet", "Check the seal");
      verify.href = job.verify_url;
      actions.appendChild(verify);
    }
    if (job.retry_url) {
      var form = el("form");
      form.method = "post";
      form.action = job.retry_url;
      var token = el("input");
      token.type = "hidden";
      token.name = "csrfmiddlewaretoken";
      token.value = csrfToken();
      form.appendChild(token);
      form.appendChild(el("button", "button", "Retry"));
      actions.appendChild(form);
    }
    item.appendChild(actions);
    return item;
  }

  function signature(jobs) {
    return jobs.map(function (job) { return job.id + ":" + job.status; }).join(",");
  }

  function current() {
    return Array.prototype.map.call(list.querySelectorAll("[data-job-id]"), function (item) {
      return item.getAttribute("data-job-id") + ":" + item.getAttribute("data-status");
    }).join(",");
  }

  function draw(jobs) {
    if (signature(jobs) === current()) return;
    while (list.firstChild) list.removeChild(list.firstChild);
    jobs.forEach(function (job) { list.appendChild(row(job)); });
    if (!jobs.length) list.appendChild(el("li", "documents__empty muted", "No PDF has been produced yet."));
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (data) {
        draw(data.jobs);
        if (data.pending) {
          section.setAttribute("data-pending", "");
          schedule();
        } else {
          section.removeAttribute("data-pending");
        }
      })
      .catch(function () {
        delay = Math.min(delay * 2, MAX_DELAY);
        schedule();
      });
  }

  function schedule() {
    if (Date.now() - started > GIVE_UP_AFTER) return;
    window.setTimeout(poll, delay);
    delay = Math.min(Math.round(delay * 1.3), MAX_DELAY);
  }

  if (section.hasAttribute("data-pending")) schedule();
})();
