import sys
import os

TAX_RATE = 0.2
DISCOUNTS = {"WELCOME10": 0.10, "FRIENDS25": 0.25}


def apply_discount(amount, code=""):
    rate = DISCOUNTS.get(code.upper(), 0.0)
    return amount * (1 - rate)


def price_label(amount, currency="EUR"):
    return "{:.2f} {}".format(amount, currency)


def check_code(code):
    if code.upper() not in DISCOUNTS:
        raise ValueError("unknown discount code: %s" % code)
    return True
