"""A safety net for the campaign cache: a campaign saved or deleted outside services.update_coupon
(the admin's delete, a shell) is forgotten after the commit too. update_coupon writes with a queryset
update, which sends no signal, so it forgets explicitly."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.coupons import campaigns
from apps.coupons.models import Coupon


@receiver(post_save, sender=Coupon, dispatch_uid="coupons.forget_saved_campaign")
@receiver(post_delete, sender=Coupon, dispatch_uid="coupons.forget_deleted_campaign")
def forget_campaign(sender, instance, **kwargs):
    if not kwargs.get("created"):
        campaigns.forget_after_commit(instance.pk)
