import factory
from django.contrib.auth import get_user_model

from apps.catalog.models import Category, Product

DEFAULT_PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = "A fine product."
    price = 1999
    stock = 10
    category = factory.SubFactory(CategoryFactory)
    is_active = True


class CouponFactory(factory.django.DjangoModelFactory):
    """An open campaign (no start or end) of 100 fixed-amount coupons."""

    class Meta:
        model = "coupons.Coupon"

    name = factory.Sequence(lambda n: f"Campaign {n}")
    discount_type = "fixed"
    discount_value = 500
    total_quantity = 100
    valid_days = 30


def _thirty_days_from_now():
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(days=30)


class UserCouponFactory(factory.django.DjangoModelFactory):
    """A coupon in a user's account, made directly (not through issue_coupon): for apply/use/restore tests."""

    class Meta:
        model = "coupons.UserCoupon"

    user = factory.SubFactory(UserFactory)
    coupon = factory.SubFactory(CouponFactory)
    expires_at = factory.LazyFunction(_thirty_days_from_now)
