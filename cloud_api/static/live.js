/* Live fragments for the staff pages, without a front-end build or a CDN.
 *
 * An element with data-live-src="URL" is refreshed from that URL every
 * data-live-interval milliseconds (default 3000): the server renders the fragment,
 * this script only swaps it in. Rows whose data-row-id was not on the page before
 * get the "is-new" class, so a ticket a gateway just raised stands out.
 */
(function () {
  "use strict";

  function rowIds(root) {
    var ids = new Set();
    root.querySelectorAll("[data-row-id]").forEach(function (el) {
      ids.add(el.getAttribute("data-row-id"));
    });
    return ids;
  }

  function refresh(el) {
    var src = el.getAttribute("data-live-src");
    return fetch(src, {
      credentials: "same-origin",
      headers: { "X-Live-Fragment": "1" },
      cache: "no-store",
    })
      .then(function (resp) {
        if (resp.status === 401 || resp.redirected) {
          window.location.reload();
          return null;
        }
        return resp.ok ? resp.text() : null;
      })
      .then(function (html) {
        if (html === null || html === el.getAttribute("data-live-last")) {
          return;
        }
        var before = rowIds(el);
        el.innerHTML = html;
        el.setAttribute("data-live-last", html);
        el.querySelectorAll("[data-row-id]").forEach(function (row) {
          if (before.size && !before.has(row.getAttribute("data-row-id"))) {
            row.classList.add("is-new");
          }
        });
        el.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
      })
      .catch(function () {
        /* Network hiccup: the next tick tries again. */
      });
  }

  function start(el) {
    var every = parseInt(el.getAttribute("data-live-interval") || "3000", 10);
    el.setAttribute("data-live-last", el.innerHTML);
    window.setInterval(function () {
      if (!document.hidden) {
        refresh(el);
      }
    }, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-src]").forEach(start);
    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      form.addEventListener("change", function () {
        form.submit();
      });
    });
  });
})();
