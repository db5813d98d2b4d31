from django.db import models
from django.db.models import Q
from django.urls import reverse

# Largest price or stock: fits a signed 32-bit column on every database we run on.
MAX_AMOUNT = 2_147_483_647


class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """Something for sale. `price` is in minor units; `stock` never goes below zero."""

    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    price = models.PositiveIntegerField()
    stock = models.IntegerField(default=0)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    image_url = models.URLField(max_length=500, blank=True, help_text="A picture hosted elsewhere; an uploaded image takes precedence.")
    # The uploaded original; apps.catalog.images makes its WebP renditions once, on upload, and
    # records its size so that pages can give every <img> its width and height without opening it.
    image = models.ImageField(upload_to="products/", max_length=255, blank=True, db_default="")
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="catalog_product_stock_non_negative"),
            models.CheckConstraint(condition=Q(price__gte=0), name="catalog_product_price_non_negative"),
        ]
        indexes = [
            models.Index(fields=["is_active", "category", "price"], name="product_active_cat_price"),
            models.Index(fields=["is_active", "price"], name="product_active_price"),
            models.Index(fields=["is_active", "name"], name="product_active_name"),
            models.Index(fields=["is_active", "-created_at"], name="product_active_newest"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:product_detail", kwargs={"slug": self.slug})

    @property
    def picture(self):
        """What an <img> needs (src, srcset, width, height), or None: see apps.catalog.images."""
        from apps.catalog.images import picture_of

        return picture_of(self)
