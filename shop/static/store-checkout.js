// Checkout: choosing an address-book entry fills the delivery fields with it (the server
// uses the entry itself, so the page works without this script too).
(function () {
  var book = document.getElementById('address_id');
  if (!book) return;
  function fill() {
    var chosen = book.options[book.selectedIndex];
    if (!chosen || !chosen.value) return;
    var delivery = document.querySelector('input[name="fulfilment"][value="delivery"]');
    if (delivery) delivery.checked = true;
    document.getElementById('delivery_zone').value = chosen.dataset.zone;
    document.getElementById('delivery_address').value = chosen.dataset.address;
    document.getElementById('name').value = chosen.dataset.recipient;
    document.getElementById('mobile').value = chosen.dataset.phone;
  }
  book.addEventListener('change', fill);
})();
