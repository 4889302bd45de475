// Checkout: an address-book entry (the default one is preselected) fills the delivery fields
// when it is chosen, or when delivery is chosen with it selected. The server uses the entry
// itself, so the page works without this script too.
(function () {
  var book = document.getElementById('address_id');
  if (!book) return;
  var delivery = document.querySelector('input[name="fulfilment"][value="delivery"]');
  function fill() {
    var chosen = book.options[book.selectedIndex];
    if (!chosen || !chosen.value) return;
    if (delivery) delivery.checked = true;
    document.getElementById('delivery_zone').value = chosen.dataset.zone;
    document.getElementById('delivery_address').value = chosen.dataset.address;
    document.getElementById('name').value = chosen.dataset.recipient;
    document.getElementById('mobile').value = chosen.dataset.phone;
  }
  book.addEventListener('change', fill);
  if (delivery) delivery.addEventListener('change', fill);
})();
