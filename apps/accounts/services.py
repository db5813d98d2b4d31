"""Accounts: sign-up, API tokens, passwords. Every write to users and tokens lives here.

A write that deletes a token or changes what a cached token lookup carries forgets the user's
tokens in the token cache after its commit (apps.accounts.token_cache); apps.accounts.receivers
does the same for writes made elsewhere (the admin's user form, manage.py, a shell).
"""

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from apps.accounts import token_cache
from apps.core.errors import InvalidCredentials, ValidationError

User = get_user_model()


def normalize_email(email: str) -> str:
    """E-mail addresses are stored lower-case, so the same address cannot sign up twice."""
    return email.strip().lower()


def signup_user(*, email: str, password: str, name: str = "") -> User:
    """A new shopper. The password must pass settings.AUTH_PASSWORD_VALIDATORS."""
    email = normalize_email(email)
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValidationError(details={"email": list(exc.messages)}) from exc
    name = name.strip()
    try:
        validate_password(password, user=User(email=email, name=name))
    except DjangoValidationError as exc:
        raise ValidationError(details={"password": list(exc.messages)}) from exc
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, name=name)
    except IntegrityError as exc:
        raise ValidationError(details={"email": ["An account with this e-mail address already exists."]}) from exc


def authenticate_user(*, request, email: str, password: str) -> User:
    user = authenticate(request, email=normalize_email(email), password=password)
    if user is None:
        raise InvalidCredentials()
    return user


def issue_token(*, user: User) -> Token:
    """The user's API token (one per user, shared by their devices)."""
    token, _ = Token.objects.get_or_create(user=user)
    return token


def revoke_token(*, user: User) -> None:
    """Log out of the API: the user's token stops working on the very next request, in every process."""
    with transaction.atomic():
        keys = list(Token.objects.filter(user=user).values_list("key", flat=True))
        Token.objects.filter(key__in=keys).delete()
        token_cache.forget_after_commit(keys)


def change_password(*, user: User, password: str | None) -> User:
    """A new password (None: no usable password). The API token is revoked, as Django ends the sessions.

    The caller has validated the password (settings.AUTH_PASSWORD_VALIDATORS).
    """
    with transaction.atomic():
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save(update_fields=["password"])
        revoke_token(user=user)
    return user


def user_changed(*, user: User) -> None:
    """After staff saved a user: what cached token lookups carry (staff status, active, name, e-mail) is read again."""
    token_cache.forget_user_after_commit(user.pk)
