// The coupon form's discount is a percentage or an amount of money, by discount type: say which.
document.addEventListener("DOMContentLoaded", () => {
  const type = document.getElementById("id_discount_type");
  const unit = document.getElementById("discount_value_unit");
  const box = document.getElementById("id_discount_value");
  if (!type || !unit || !box) return;
  const show = () => {
    const currency = box.dataset.currency;
    unit.textContent = type.value === "percent" ? "%" : type.value === "fixed" ? currency : `% or ${currency}`;
    box.placeholder = type.value === "percent" ? "15" : type.value === "fixed" ? "5.00" : "";
  };
  type.addEventListener("change", show);
  show();
});
