"""Card numbers: checking them, naming their brand, and carrying them to the PG without keeping them.

A number is accepted with spaces or dashes, must be 13 to 19 digits and pass the Luhn check. Only its
brand and last four digits are ever stored; errors never repeat the number.

How the number reaches the payment gateway: the order is committed first, and the PG is called
afterwards by a Celery task queued on commit (no network I/O inside a transaction). The number must
therefore outlive the request without being stored. It travels *sealed* as the task's argument:
`seal()` encrypts it with Fernet (AES-128-CBC + HMAC-SHA256, with a timestamp), and the task calls
`unseal()` right before the PG request. So the database never holds it in any form, the broker
holds only ciphertext that authenticates itself, and a sealed number stops opening after
PAYMENT_TIMEOUT_SECONDS (by then the order has expired anyway, so a message redelivered late or
lifted from the broker is useless). The task may run twice (acks_late): the PG request carries an
idempotency key, so the second run gets the same transaction back instead of charging twice.

Keys: PAYMENT_CARD_KEYS (Fernet keys, newest first: the first seals, any of them opens, which is
how a key is rotated); unset, one key is derived from SECRET_KEY. A real shop would tokenize in the
browser with the PG's vault and never see the number at all; the simulator is our vault.
"""

import base64
from dataclasses import dataclass
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from apps.core.errors import ValidationError

MIN_DIGITS = 13
MAX_DIGITS = 19


class InvalidCardNumber(ValidationError):
    """400 VALIDATION_ERROR on `card` (API.md); the message never contains the number."""

    default_message = "The card number is not valid."

    def __init__(self, message: str | None = None):
        message = message or self.default_message
        super().__init__(message, details={"card": [message]})


class SealedCardUnreadable(Exception):
    """A sealed number that is too old, was tampered with, or was sealed with an unknown key."""


@dataclass(frozen=True)
class Card:
    """What may be kept of a card: its brand and last four digits."""

    brand: str
    last4: str


def normalize(number: str) -> str:
    """Drop the spaces and dashes people type; anything else is left for validate() to reject."""
    return "".join(character for character in str(number) if character not in " -")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def validate(number: str) -> str:
    """The number's digits, or InvalidCardNumber with a message in plain words."""
    if not isinstance(number, str) or not number.strip():
        raise InvalidCardNumber("Enter a card number.")
    digits = normalize(number)
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidCardNumber("A card number has only digits (spaces and dashes are fine).")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise InvalidCardNumber(f"A card number has {MIN_DIGITS} to {MAX_DIGITS} digits.")
    if not luhn_valid(digits):
        raise InvalidCardNumber("This card number is not valid; please check it.")
    return digits


def brand(digits: str) -> str:
    """visa, mastercard, amex, discover or other, from the number's prefix (IIN ranges)."""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if "51" <= digits[:2] <= "55" or "2221" <= digits[:4] <= "2720":
        return "mastercard"
    if digits.startswith(("6011", "65")) or "644" <= digits[:3] <= "649" or "622126" <= digits[:6] <= "622925":
        return "discover"
    return "other"


def last4(digits: str) -> str:
    return digits[-4:]


def describe(digits: str) -> Card:
    return Card(brand=brand(digits), last4=last4(digits))


def seal(digits: str) -> str:
    """The number encrypted and timestamped, as text (for a task argument)."""
    return _fernet().encrypt(digits.encode()).decode()


def unseal(sealed: str) -> str:
    """The number back, if it was sealed less than PAYMENT_TIMEOUT_SECONDS ago with a known key."""
    try:
        return _fernet().decrypt(sealed.encode(), ttl=settings.PAYMENT_TIMEOUT_SECONDS).decode()
    except InvalidToken:
        raise SealedCardUnreadable("the sealed card number is expired, altered or sealed with an unknown key") from None


@cache
def _fernet_for(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(key) for key in keys])
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"flashcart payments card sealing").derive(secret_key.encode())
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.PAYMENT_CARD_KEYS), settings.SECRET_KEY)
