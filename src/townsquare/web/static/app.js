// Townsquare web: small enhancements on top of pages that work without any script.
// Keyboard shortcuts (j/k/n/?), focus kept across htmx swaps, and live counts from the event stream.
(function () {
  "use strict";
  var live = document.getElementById("live");

  function announce(text) {
    if (!live) return;
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  function typing(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']");
  }

  function posts() { return Array.prototype.slice.call(document.querySelectorAll("article.status")); }

  function move(step) {
    var list = posts();
    if (!list.length) return;
    var current = document.activeElement && document.activeElement.closest ? document.activeElement.closest("article.status") : null;
    var index = list.indexOf(current);
    var next = list[Math.max(0, Math.min(list.length - 1, index < 0 ? 0 : index + step))];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var dialog = document.getElementById("shortcuts-dialog");
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if (event.key === "n") {
      var box = document.getElementById("compose-text");
      if (box) { box.focus(); event.preventDefault(); } else { window.location.href = "/#compose"; }
    } else if (event.key === "?") {
      if (dialog && dialog.showModal && !dialog.open) { dialog.showModal(); event.preventDefault(); }
    }
  });

  // htmx swaps a post in place: put focus back on the same button in the new copy (htmx alone can lose it).
  var pending = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var button = event.target.querySelector ? event.target.querySelector("button[data-focus-key]") : null;
    var article = event.target.closest ? event.target.closest("article.status") : null;
    pending = button && article ? { id: article.id, key: button.getAttribute("data-focus-key") } : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!pending) return;
    var article = document.getElementById(pending.id);
    var button = article ? article.querySelector("button[data-focus-key='" + pending.key + "']") : null;
    if (button) {
      button.focus();
      announce(pending.key + (button.getAttribute("aria-pressed") === "true" ? " on" : " off"));
    } else if (article) {
      article.focus();  // the button is gone (a vote became results): keep the reader on the same post
      announce(pending.key === "Vote" ? "Vote recorded" : "Updated");
    } else {
      move(0);
    }
    pending = null;
  });

  // Live updates: new posts wait behind a button; the unread notifications count follows along.
  var kind = document.body.getAttribute("data-stream");
  if (!kind || !window.EventSource) return;
  var fresh = 0;
  var badge = document.getElementById("unread-count");
  var unread = badge ? parseInt(badge.getAttribute("data-count") || "0", 10) : 0;
  var showPosts = document.getElementById(kind === "home" ? "new-posts" : "new-notifications");
  var source = new EventSource("/web/stream");
  source.onopen = function () { document.body.setAttribute("data-live", "open"); };
  source.addEventListener("update", function () {
    if (kind !== "home" || !showPosts) return;
    fresh += 1;
    showPosts.textContent = fresh === 1 ? "Show 1 new post" : "Show " + fresh + " new posts";
    showPosts.hidden = false;
    announce(showPosts.textContent);
  });
  source.addEventListener("notification", function () {
    unread += 1;
    if (badge) {
      badge.setAttribute("data-count", String(unread));
      badge.textContent = String(unread);
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " unread";
      badge.appendChild(hidden);
    }
    if (kind === "notifications" && showPosts) {
      showPosts.textContent = "Show new notifications";
      showPosts.hidden = false;
    }
    announce(unread === 1 ? "1 new notification" : unread + " new notifications");
  });
})();
