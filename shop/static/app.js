// Behaviour every page shares, here rather than inline so the Content-Security-Policy can
// forbid inline script: print buttons, confirmations before destructive forms, the error
// page's back link.
(function () {
  document.querySelectorAll('[data-print]').forEach(function (el) {
    el.addEventListener('click', function () { window.print(); });
  });
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (e) {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  });
  document.querySelectorAll('a[data-back]').forEach(function (el) {
    el.addEventListener('click', function (e) {
      if (window.history.length > 1) { e.preventDefault(); window.history.back(); }
    });
  });
})();
