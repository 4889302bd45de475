// The order status page: the hold countdown and, with Stripe, the card payment form.
(function () {
  var el = document.getElementById('hold-remaining');
  if (el) {
    var left = parseInt(el.dataset.seconds, 10);
    var timer = setInterval(function () {
      left = Math.max(0, left - 1);
      el.textContent = Math.floor(left / 60) + ':' + String(left % 60).padStart(2, '0');
      if (left === 0) { clearInterval(timer); location.reload(); }
    }, 1000);
  }
  var form = document.getElementById('payment-form');
  if (!form || typeof Stripe === 'undefined') return;
  var script = document.getElementById('store-status-js');
  var stripe = Stripe(form.dataset.key);
  var elements = stripe.elements({clientSecret: form.dataset.clientSecret, locale: script ? script.dataset.locale : 'zh'});
  var payment = elements.create('payment');
  payment.mount('#payment-element');
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    document.getElementById('pay-button').disabled = true;
    stripe.confirmPayment({elements: elements, confirmParams: {return_url: form.dataset.return}}).then(function (result) {
      if (result.error) {
        document.getElementById('payment-message').textContent = result.error.message;
        document.getElementById('pay-button').disabled = false;
      }
    });
  });
})();
