"""Domain errors: every failure a service can report, each with the stable code of API.md.

Services raise these; the API maps them to JSON (apps.core.exceptions) and the pages show
`message` to the shopper. A new code must be added to API.md first.
"""

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "VALIDATION_ERROR"
    default_message = "The request is not valid."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class ValidationError(DomainError):
    status_code = 400
    code = "VALIDATION_ERROR"
    default_message = "Some fields are not valid."


class NotFound(DomainError):
    status_code = 404
    code = "NOT_FOUND"
    default_message = "Not found."


class InvalidCredentials(DomainError):
    status_code = 401
    code = "INVALID_CREDENTIALS"
    default_message = "The e-mail address or password is not correct."


class PermissionDenied(DomainError):
    status_code = 403
    code = "PERMISSION_DENIED"
    default_message = "You do not have permission to do this."


class OutOfStock(DomainError):
    status_code = 409
    code = "OUT_OF_STOCK"
    default_message = "Not enough stock."


class InsufficientBalance(DomainError):
    status_code = 409
    code = "INSUFFICIENT_BALANCE"
    default_message = "Your wallet balance is too low."


class CouponSoldOut(DomainError):
    status_code = 409
    code = "COUPON_SOLD_OUT"
    default_message = "All coupons of this campaign have been claimed."


class CouponAlreadyIssued(DomainError):
    status_code = 409
    code = "COUPON_ALREADY_ISSUED"
    default_message = "You already have this coupon."


class OrderNotCancellable(DomainError):
    status_code = 409
    code = "ORDER_NOT_CANCELLABLE"
    default_message = "This order can no longer be cancelled."


class IdempotencyInProgress(DomainError):
    status_code = 409
    code = "IDEMPOTENCY_IN_PROGRESS"
    default_message = "A request with this Idempotency-Key is still being processed."


class ConcurrentUpdate(DomainError):
    status_code = 409
    code = "CONCURRENT_UPDATE"
    default_message = "Too many simultaneous changes; please try again."


class CouponNotActive(DomainError):
    status_code = 422
    code = "COUPON_NOT_ACTIVE"
    default_message = "This coupon campaign is not open."


class CouponNotApplicable(DomainError):
    status_code = 422
    code = "COUPON_NOT_APPLICABLE"
    default_message = "This coupon cannot be used for this order."


class ProductUnavailable(DomainError):
    status_code = 422
    code = "PRODUCT_UNAVAILABLE"
    default_message = "This product is not available."


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = "IDEMPOTENCY_KEY_REUSED"
    default_message = "This Idempotency-Key was already used with a different request."


class InvalidSignature(DomainError):
    status_code = 401
    code = "INVALID_SIGNATURE"
    default_message = "The signature is missing or does not match."


class PaymentUnavailable(DomainError):
    """The payment gateway is known to be down (its circuit breaker is open): 503 with Retry-After."""

    status_code = 503
    code = "PAYMENT_UNAVAILABLE"
    default_message = "Card payments are unavailable right now; please try again shortly or pay from your wallet."

    DEFAULT_RETRY_AFTER = 30

    def __init__(self, message: str | None = None, *, retry_after: int = DEFAULT_RETRY_AFTER, details: dict | None = None):
        self.retry_after = retry_after
        super().__init__(message, details=details if details is not None else {"retry_after": retry_after})
