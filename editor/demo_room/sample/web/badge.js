// The cart badge in the shop's header: how many items, and the total.
const badge = document.querySelector("#cart-badge");

function formatPrice(amount, currency = "EUR") {
  return `${amount.toFixed(2)} ${currency}`;
}

function updateBadge(count, amount) {
  /* hide the badge when the cart is empty */
  badge.hidden = count === 0;
  badge.textContent = `${count} items · ${formatPrice(amount)}`;
}

export { formatPrice, updateBadge };
