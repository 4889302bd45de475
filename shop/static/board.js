// The pickup board refreshes its rows every 15 s unless someone is typing in one of them.
(function () {
  var box = document.getElementById('board-rows');
  if (!box) return;
  setInterval(function () {
    if (document.querySelector('#board-rows form:focus-within')) return;
    fetch(box.dataset.src, {credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; })
      .catch(function () {});
  }, 15000);
})();
