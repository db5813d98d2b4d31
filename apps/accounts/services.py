"""Accounts: sign-up, API tokens. Every write to users and tokens lives here."""

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

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
    Token.objects.filter(user=user).delete()
