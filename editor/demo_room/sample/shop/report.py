from shop.cart import Cart
from shop.pricing import price_label


def daily_report(carts, day="today"):
    lines = ["Report for %s" % day]
    total = 0.0
    for cart in carts:
        if cart.is_empty():
            continue
        amount = cart.total()
        total += amount
        lines.append("%-12s %10s" % (cart.owner, price_label(amount)))
    lines.append("%-12s %10s" % ("TOTAL", price_label(total)))
    return "\n".join(lines)


def main():
    ann = Cart("ann")
    ann.add("apples", 0.5, 6)
    ann.add("bread", 2.2)
    bob = Cart("bob")
    bob.add("coffee", 7.9)
    print(daily_report([ann, bob]))


if __name__ == "__main__":
    main()
