"""A safety net for the token cache: any save or delete of a user or token forgets the cached lookups.

The services forget explicitly (apps.accounts.services); these receivers cover the writes that do
not go through them: a user saved by Django's own admin forms or views, `manage.py changepassword`,
a shell, a token deleted by a cascade. A missed forget would let a revoked token or a demoted
staff member keep working from the cache until the entry expires, so both run; forgetting twice
is harmless. Queryset `update()` sends no signal: code that changes users that way must call
`services.user_changed` (none does today).
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from apps.accounts import token_cache


@receiver(post_save, sender=get_user_model(), dispatch_uid="accounts.forget_tokens_of_saved_user")
def forget_tokens_of_saved_user(sender, instance, created, update_fields, **kwargs):
    if created:
        return  # a new user has no token yet
    if update_fields is not None and not token_cache.INVALIDATING_FIELDS.intersection(update_fields):
        return  # e.g. last_login at each login
    token_cache.forget_user_after_commit(instance.pk)


@receiver(post_delete, sender=Token, dispatch_uid="accounts.forget_deleted_token")
def forget_deleted_token(sender, instance, **kwargs):
    token_cache.forget_after_commit([instance.key])
