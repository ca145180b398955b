/* The app's own page behaviour, loaded from 'self' so the CSP needs no inline script of ours.
 *  data-confirm="问题"          on a submit button (click) or a form (submit): asks before sending.
 *  data-check-all="selector"    on a checkbox: ticks or unticks every box the selector finds.
 *  #task-table[data-status-url] 任务中心: polls the status of unfinished tasks every 2 s and redraws them.
 *  [data-select-all-bar]       after data-check-all ticked a whole page: offers "选择全部 N 条符合筛选条件的学生",
 *                               which enables the form's select_all=N (the server recounts); any untick clears it.
 *  a.<name>_menu_item          an action of a FAB list widget (登记表 审核通过): with nothing ticked FAB only said
 *                               "No row selected"; now it posts the action with the page's filter, and the server
 *                               answers with its count confirmation (or back to the list with its message).
 *  button[data-bulk-confirm]    a list's bulk action (app/views/bulk.py): with nothing ticked, confirms the server's
 *                               sentence "将对当前筛选的 N 名学生…" (N = data-bulk-count, the server's count of the
 *                               filter) and posts N back; the server checks it and asks on its own page if it changed.
 */
(function () {
  "use strict";

  document.addEventListener("click", function (e) {
    var el = e.target.closest ? e.target.closest("[data-confirm]") : null;
    if (el && el.tagName !== "FORM" && !window.confirm(el.getAttribute("data-confirm"))) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.hasAttribute && form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
      e.preventDefault();
    }
  }, true);

  function selectAllBar(form) {
    return form ? form.querySelector("[data-select-all-bar]") : null;
  }
  function showWhole(bar, whole) {
    var input = bar.querySelector("input[name=select_all]");
    input.disabled = !whole;
    bar.querySelector("[data-select-page]").hidden = whole;
    bar.querySelector("[data-select-filter]").hidden = !whole;
  }

  document.addEventListener("change", function (e) {
    var box = e.target;
    var selector = box.getAttribute && box.getAttribute("data-check-all");
    var bar = selectAllBar(box.form);
    if (!selector) {
      if (bar && box.name === "rowid" && !box.checked) { showWhole(bar, false); bar.hidden = true; }
      return;
    }
    document.querySelectorAll(selector).forEach(function (b) { b.checked = box.checked; });
    if (bar) { showWhole(bar, false); bar.hidden = !box.checked; }
  });

  document.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("[data-select-all], [data-select-clear]") : null;
    var bar = link && link.closest("[data-select-all-bar]");
    if (!bar) { return; }
    e.preventDefault();
    showWhole(bar, link.hasAttribute("data-select-all"));
  });

  document.addEventListener("click", function (e) {
    var btn = e.target.closest ? e.target.closest("button[data-bulk-confirm]") : null;
    var form = btn && btn.form;
    var whole = form && form.querySelector("input[name=select_all]:not([disabled])");
    if (whole) {  // every page of the filter: the count was chosen on the page; ask once more, as for no ticks
      if (!window.confirm(btn.getAttribute("data-bulk-confirm"))) { e.preventDefault(); }
      return;
    }
    if (!form || form.querySelector("input[name=rowid]:checked, input[name=ids]:checked")) { return; }
    if (!window.confirm(btn.getAttribute("data-bulk-confirm"))) {
      e.preventDefault();
      return;
    }
    var input = form.querySelector("input[name=confirmed]") || document.createElement("input");
    input.type = "hidden";
    input.name = "confirmed";
    input.value = btn.getAttribute("data-bulk-count");
    form.appendChild(input);
  });

  document.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("a[class$='_menu_item']") : null;
    var form = document.getElementById("action_form");
    if (!link || !form || document.querySelector("input.action_check:checked")) { return; }
    e.preventDefault();
    e.stopPropagation();  // capture phase: FAB's own handler on the link never runs
    form.querySelector("input[name=action]").value = link.className.replace(/_menu_item$/, "");
    var filters = new URLSearchParams();
    new URLSearchParams(window.location.search).forEach(function (value, key) {
      if (key.indexOf("_flt_") === 0) { filters.append(key, value); }
    });
    var query = filters.toString();
    form.action = form.getAttribute("action").split("?")[0] + (query ? "?" + query : "");
    form.submit();
  }, true);

  function watchTasks(table) {
    var statusUrl = table.getAttribute("data-status-url");
    var labels = {succeeded: "label-success", failed: "label-danger", running: "label-info", queued: "label-default"};
    function openIds() {
      var ids = [];
      table.querySelectorAll("tr[data-open='1']").forEach(function (tr) { ids.push(tr.dataset.taskId); });
      return ids;
    }
    function redraw(t) {
      var tr = document.getElementById("task-" + t.id);
      if (!tr) { return; }
      var bar = tr.querySelector(".task-bar");
      bar.style.width = t.percent + "%";
      bar.setAttribute("aria-valuenow", t.percent);
      bar.textContent = t.done + "/" + t.total;
      var state = tr.querySelector(".task-state span");
      state.textContent = t.state_text;
      state.className = "label " + (labels[t.state] || "label-default");
      tr.querySelector(".task-summary").textContent = t.summary;
      tr.querySelector(".task-error").textContent = t.error;
      tr.querySelector(".task-started").textContent = t.started_at;
      tr.querySelector(".task-finished").textContent = t.finished_at;
      if (!t.open) {
        tr.dataset.open = "0";
        if (t.download_url || t.state === "failed") { window.location.reload(); }
      }
    }
    function poll() {
      var ids = openIds();
      if (!ids.length) { return; }
      fetch(statusUrl + "?ids=" + ids.join(","), {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : {tasks: []}; })
        .then(function (data) { data.tasks.forEach(redraw); })
        .catch(function () {})
        .then(function () { if (openIds().length) { setTimeout(poll, 2000); } });
    }
    setTimeout(poll, 2000);
  }

  function ready() {
    var table = document.querySelector("#task-table[data-status-url]");
    if (table) { watchTasks(table); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
})();
