from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.core.errors import DomainError
from apps.coupons import selectors, services


def coupon_list(request):
    coupons = list(selectors.open_coupons())
    held = selectors.held_coupon_ids(user=request.user, coupon_ids=[coupon.pk for coupon in coupons])
    return render(request, "coupons/list.html", {"coupons": coupons, "held": held})


@require_POST
def coupon_claim(request, coupon_id: int):
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("coupons:list"))
    try:
        user_coupon = services.issue_coupon(user=request.user, coupon_id=coupon_id)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("coupons:list")
    days = user_coupon.coupon.valid_days
    messages.success(request, f"Coupon claimed: {user_coupon.coupon.name}. Use it at checkout within {days} day{pluralize(days)}.")
    return redirect("coupons:mine")


@login_required
def my_coupons(request):
    return render(request, "coupons/mine.html", {"user_coupons": selectors.user_coupons(user=request.user)})
