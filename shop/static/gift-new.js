// Gift order form: "add to the list" appends a recipient row naming an address-book entry
// (the day and product are then filled in by the buyer). Without this script the buyer types
// the entry's name in the address_book column.
(function () {
  var button = document.getElementById('add-from-book');
  if (!button) return;
  button.addEventListener('click', function () {
    var text = document.getElementById('recipients_text');
    var label = document.getElementById('book-entry').value;
    var header = button.dataset.header;
    var columns = header.split(',');
    if (!text.value.trim()) text.value = header + '\n';
    if (text.value.slice(-1) !== '\n') text.value += '\n';
    var row = columns.map(function (c) {
      if (c === 'quantity') return '1';
      if (c === 'fulfilment') return 'delivery';
      if (c === 'address_book') return label;
      return '';
    });
    text.value += row.join(',') + '\n';
    text.focus();
  });
})();
