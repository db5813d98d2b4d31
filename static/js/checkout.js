// Checkout totals follow the coupon chosen, without a round trip. Without JavaScript the page's
// "Update totals" button does the same on the server; the server checks everything again on Pay.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-checkout]");
  if (!form) return;
  var preview = form.querySelector("[data-preview]");
  if (preview) preview.hidden = true;
  form.addEventListener("change", function (event) {
    if (event.target.name !== "user_coupon") return;
    var choice = event.target.closest("[data-total]");
    if (!choice) return;
    form.querySelector("[data-discount-out]").textContent = choice.dataset.discount;
    form.querySelector("[data-total-out]").textContent = choice.dataset.total;
    form.querySelector("[data-pay]").textContent = "Pay " + choice.dataset.total;
  });
});
