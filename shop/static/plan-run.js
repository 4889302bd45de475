// The plan progress page: ask the run's status every second and show it; go to the plan when
// it is done, reload to show the reason when it failed. Without script a <noscript> meta
// refresh reloads the page instead, and the server redirects once the plan is there.
(function () {
  var box = document.getElementById('plan-run');
  if (!box) return;
  function text(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = value || '';
  }
  function poll() {
    fetch(box.dataset.src, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (run) {
        if (!run) { setTimeout(poll, 3000); return; }
        if (run.status === 'done' && run.next_url) { location.replace(run.next_url); return; }
        if (run.status === 'failed') { location.reload(); return; }
        text('run-status', run.labels.status);
        text('run-stage', run.labels.stage);
        text('run-profile', run.labels.profile);
        text('run-elapsed', run.labels.elapsed);
        text('run-gap', run.labels.gap);
        text('run-best', run.labels.best);
        var bar = document.getElementById('run-progress');
        if (bar) { bar.value = run.percent; bar.textContent = run.percent + '%'; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
