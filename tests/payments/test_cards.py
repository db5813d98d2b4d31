import time

import pytest
from cryptography.fernet import Fernet

from apps.core.errors import ValidationError
from apps.payments import cards
from apps.payments.cards import InvalidCardNumber, SealedCardUnreadable


def _with_luhn_digit(partial: str) -> str:
    return next(partial + check for check in "0123456789" if cards.luhn_valid(partial + check))


NINETEEN_DIGITS = _with_luhn_digit("601100099013942412")


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("4242 4242 4242 4242", "4242424242424242"),
        ("4242-4242-4242-4242", "4242424242424242"),
        (" 4242-4242 4242 4242 ", "4242424242424242"),
        ("378282246310005", "378282246310005"),
        ("4222222222222", "4222222222222"),
        (NINETEEN_DIGITS[:4] + " " + NINETEEN_DIGITS[4:], NINETEEN_DIGITS),
    ],
)
def test_validate_accepts_13_to_19_digits_with_spaces_and_dashes(typed, digits):
    assert cards.validate(typed) == digits


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter a card number."),
        ("   ", "Enter a card number."),
        ("4242 4242 4242 4241", "This card number is not valid; please check it."),
        ("4242.4242.4242.4242", "A card number has only digits (spaces and dashes are fine)."),
        ("4242a42424242424", "A card number has only digits (spaces and dashes are fine)."),
        ("４２４２４２４２４２４２４２４２", "A card number has only digits (spaces and dashes are fine)."),  # full-width digits
        ("424242424242", "A card number has 13 to 19 digits."),  # 12 digits
        ("42424242424242424242", "A card number has 13 to 19 digits."),  # 20 digits
    ],
)
def test_validate_rejects_in_plain_words_without_repeating_the_number(typed, message):
    with pytest.raises(InvalidCardNumber) as raised:
        cards.validate(typed)
    error = raised.value
    assert isinstance(error, ValidationError)
    assert (error.status_code, error.code, error.message) == (400, "VALIDATION_ERROR", message)
    assert error.details == {"card": [message]}
    digits = cards.normalize(typed)
    assert not digits or digits not in str(error) + repr(error.details)


def test_validate_rejects_what_is_not_a_string():
    with pytest.raises(InvalidCardNumber):
        cards.validate(4242424242424242)


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4242424242424242", True),
        ("4000000000000002", True),
        ("4000000000009995", True),
        ("4000000000000341", True),
        ("4000000000000259", True),
        ("79927398713", True),  # the textbook example
        ("79927398710", False),
        ("4242424242424243", False),
        ("0000000000000", True),
    ],
)
def test_luhn(digits, valid):
    assert cards.luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("digits", "brand"),
    [
        ("4242424242424242", "visa"),
        ("4222222222222", "visa"),
        ("5555555555554444", "mastercard"),
        ("5105105105105100", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("2720990000000007", "mastercard"),
        ("2721000000000004", "other"),
        ("2220990000000000", "other"),
        ("378282246310005", "amex"),
        ("371449635398431", "amex"),
        ("6011111111111117", "discover"),
        ("6500000000000002", "discover"),
        ("6445644564456445", "discover"),
        ("6221260000000000", "discover"),
        ("6229250000000000", "discover"),
        ("6229260000000000", "other"),
        ("3566002020360505", "other"),  # JCB
        ("5019717010103742", "other"),  # Dankort
    ],
)
def test_brand(digits, brand):
    assert cards.brand(digits) == brand


def test_describe_keeps_only_brand_and_last4():
    card = cards.describe("4242424242424242")
    assert card == cards.Card(brand="visa", last4="4242")
    assert "4242424242424242" not in repr(card)


def test_sealed_number_is_ciphertext_and_opens_again():
    sealed = cards.seal("4242424242424242")
    assert "4242424242424242" not in sealed and "424242" not in sealed
    assert sealed != cards.seal("4242424242424242")  # fresh IV and timestamp each time
    assert cards.unseal(sealed) == "4242424242424242"


def test_sealed_number_stops_opening_after_the_payment_timeout(settings):
    settings.PAYMENT_TIMEOUT_SECONDS = 600
    old = cards._fernet().encrypt_at_time(b"4242424242424242", int(time.time()) - 601)
    with pytest.raises(SealedCardUnreadable):
        cards.unseal(old.decode())
    recent = cards._fernet().encrypt_at_time(b"4242424242424242", int(time.time()) - 590)
    assert cards.unseal(recent.decode()) == "4242424242424242"


def test_altered_sealed_number_does_not_open():
    sealed = cards.seal("4242424242424242")
    altered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(SealedCardUnreadable) as raised:
        cards.unseal(altered)
    assert "4242" not in str(raised.value)


def test_keys_rotate_newest_first(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PAYMENT_CARD_KEYS = [old_key]
    sealed_with_old = cards.seal("5555555555554444")
    settings.PAYMENT_CARD_KEYS = [new_key, old_key]
    assert cards.unseal(sealed_with_old) == "5555555555554444"
    sealed_with_new = cards.seal("5555555555554444")
    assert Fernet(new_key).decrypt(sealed_with_new.encode()) == b"5555555555554444"
    settings.PAYMENT_CARD_KEYS = [new_key]
    with pytest.raises(SealedCardUnreadable):
        cards.unseal(sealed_with_old)


def test_default_key_is_derived_from_secret_key(settings):
    settings.PAYMENT_CARD_KEYS = []
    sealed = cards.seal("4242424242424242")
    settings.SECRET_KEY = "another-secret-key"
    with pytest.raises(SealedCardUnreadable):
        cards.unseal(sealed)
