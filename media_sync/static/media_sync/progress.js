/* Live progress of a job or batch page (no reload: focus and scroll stay where the reader left them).
   Polls the JSON named by data-progress-url about every two seconds, redraws the labels, the bar and the
   changed item rows, announces what changed in the polite live region, and stops once the work has ended. */
(function () {
  "use strict";
  const root = document.querySelector("[data-progress-url]");
  if (!root) return;
  const state = (window.mediaSyncProgress = { polls: 0, stopped: false });
  const live = document.getElementById("progress-announce");
  let since = root.dataset.progressSince;
  const drawn = {}; // row id -> the HTML last drawn: a row sent again unchanged keeps its focus

  function draw(data) {
    for (const [id, text] of Object.entries(data.text)) {
      const element = document.getElementById(id);
      if (element && element.tagName === "INPUT") element.value = text;
      else if (element) element.textContent = text;
    }
    document.querySelectorAll(".job-state .job-status").forEach(function (badge) {
      badge.className = "job-status job-status-" + data.state;
    });
    const bar = document.getElementById("progress");
    if (bar) {
      bar.setAttribute("aria-valuenow", data.percent);
      bar.setAttribute("aria-valuetext", data.done + " of " + data.total + " items done");
      const filled = bar.querySelector("rect"); // an SVG bar: the page's policy allows no inline style
      filled.setAttribute("width", data.percent);
      filled.setAttribute("class", "progress-bar progress-" + data.state);
    }
    for (const row of data.rows) {
      const old = document.getElementById("item-" + row.id);
      if (!old || drawn[row.id] === row.html) continue; // on another page, filtered out, or unchanged
      drawn[row.id] = row.html;
      const parsed = document.createElement("template");
      parsed.innerHTML = row.html.trim();
      old.replaceWith(parsed.content.firstElementChild);
    }
    const retry = document.getElementById("job-retry");
    if (retry) retry.hidden = !data.can_retry;
    if (live && live.textContent !== data.announce) live.textContent = data.announce;
  }

  async function poll() {
    state.polls += 1;
    let wait = 10000; // after an error (a restart, an expired login): try again, less often
    try {
      const url = root.dataset.progressUrl + "?since=" + encodeURIComponent(since);
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        since = data.cursor;
        draw(data);
        if (data.ended) {
          // What only makes sense while the work runs ("updated here…", "Refresh status now") goes.
          document.querySelectorAll("[data-while-running]").forEach(function (element) {
            element.hidden = true;
          });
          state.stopped = true;
          return;
        }
        wait = data.poll_ms;
      }
    } catch (error) {
      // the network or the answer failed: the next poll tries again
    }
    window.setTimeout(poll, wait);
  }

  window.setTimeout(poll, 2000);
})();
