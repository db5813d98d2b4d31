from celery import shared_task

from apps.coupons import services


@shared_task
def expire_user_coupons() -> int:
    """Beat: mark unused coupons past their expiry as expired (reads already treat them so). Safe to run twice."""
    return services.expire_user_coupons()
