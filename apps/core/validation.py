"""Whole numbers from outside, checked one way everywhere: the API's fields, the services and query strings.

Python treats True as 1 and int() reads "²", "١" and " 3", so neither isinstance(value, int) nor
str.isdigit() is a safe check on its own. Every integer a client sends is also bounded: by what it
means and, at the least, by the database column it ends up in, so it never reaches SQL or date
arithmetic out of range.
"""

import re

from apps.core.errors import ValidationError

# The range of an IntegerField / PositiveIntegerField column (prices, stock, quantities, coupon terms).
MAX_INT32 = 2**31 - 1

# ASCII digits only ([0-9], not \d, which matches every script's digits), at most 18 of them.
_PLAIN_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")


def is_whole_number(value) -> bool:
    """An int that is not a bool: 3 yes; True, 3.0 and "3" no."""
    return isinstance(value, int) and not isinstance(value, bool)


def require_whole_number(value, *, field: str, minimum: int, maximum: int, message: str | None = None) -> int:
    """`value` itself when it is a whole number within [minimum, maximum]; otherwise ValidationError on `field`."""
    if not is_whole_number(value) or not minimum <= value <= maximum:
        raise ValidationError(details={field: [message or f"Must be a whole number from {minimum} to {maximum}."]})
    return value


def parse_whole_number(text) -> int | None:
    """A whole number written plainly in ASCII digits ("3", "-2"), else None ("²", " 3", "+3", "3.0", "1e1", "")."""
    if not isinstance(text, str) or not _PLAIN_WHOLE_NUMBER.fullmatch(text):
        return None
    return int(text)
