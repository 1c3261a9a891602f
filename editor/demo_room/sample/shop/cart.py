import logging
from dataclasses import dataclass, field

from shop.pricing import TAX_RATE, apply_discount

log = logging.getLogger(__name__)


@dataclass
class Item:
    name: str
    price: float
    quantity: int = 1

    def total(self):
        return self.price * self.quantity


@dataclass
class Cart:
    owner: str
    items: list = field(default_factory=list)

    def add(self, name, price, quantity=1):
        # merge with an item of the same name
        for item in self.items:
            if item.name == name:
                item.quantity += quantity
                return item
        item = Item(name, price, quantity)
        self.items.append(item)
        log.info("%s added %d x %s" % (self.owner, quantity, name))
        return item

    def remove(self, name):
        self.items = [item for item in self.items if item.name != name]

    def subtotal(self):
        return sum(item.total() for item in self.items)

    def total(self, code=""):
        amount = apply_discount(self.subtotal(), code)
        return round(amount * (1 + TAX_RATE), 2)

    def is_empty(self):
        return len(self.items) == 0
