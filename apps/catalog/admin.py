"""Staff screens for categories and products. Every change goes through apps.catalog.services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count
from django.template.response import TemplateResponse

from apps.catalog import images, services
from apps.catalog.models import MAX_AMOUNT, Category, Product
from apps.core.admin import ServiceSavedAdmin
from apps.core.admin_widgets import MoneyFieldsAdmin
from apps.core.errors import DomainError
from apps.core.money import format_money


@admin.register(Category)
class CategoryAdmin(ServiceSavedAdmin):
    list_display = ["name", "slug", "product_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_total=Count("products"))

    @admin.display(description="Products", ordering="product_total")
    def product_count(self, category: Category) -> int:
        return category.product_total

    def save_form(self, request, form, change):
        data = form.cleaned_data
        if change:
            return services.update_category(category_id=form.instance.pk, name=data["name"], slug=data["slug"])
        return services.create_category(name=data["name"], slug=data["slug"])

    def delete_model(self, request, obj):
        services.delete_category(category_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for category_id in queryset.order_by("pk").values_list("pk", flat=True):
            services.delete_category(category_id=category_id)


class StockAdjustmentForm(forms.Form):
    delta = forms.IntegerField(
        min_value=-MAX_AMOUNT,
        max_value=MAX_AMOUNT,
        help_text="Units to add to each selected product; negative to remove (e.g. -3).",
    )
    reason = forms.CharField(max_length=255, help_text="Why, for the record (e.g. “delivery received”, “damaged”).")

    def clean_delta(self):
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("Must not be 0.")
        return delta


@admin.register(Product)
class ProductAdmin(MoneyFieldsAdmin, ServiceSavedAdmin):
    list_display = ["name", "sku", "category", "price_display", "stock", "is_active", "updated_at"]
    money_fields = ("price",)
    money_limits = {"price": (0, MAX_AMOUNT)}
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "sku", "description"]
    prepopulated_fields = {"slug": ["name"]}
    ordering = ["-created_at", "-id"]
    actions = ["adjust_stock"]
    fields = ["sku", "name", "slug", "category", "price", "stock", "description", "image", "image_url", "is_active", "created_at", "updated_at"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "image_url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        """The picture, once save_form's service call saved the rest: a new upload or "Clear"."""
        image = form.cleaned_data.get("image")
        if isinstance(image, UploadedFile):
            images.set_product_image(product_id=obj.pk, upload=image, base_name=obj.name)
        elif image is False:
            images.remove_product_image(product_id=obj.pk)

    def get_readonly_fields(self, request, obj=None):
        # Stock only changes through "Adjust stock" (one guarded UPDATE), never by overwriting it.
        return ["sku", "stock", "created_at", "updated_at"] if obj else ["created_at", "updated_at"]

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if obj is None else {}

    def has_delete_permission(self, request, obj=None):
        """Orders keep pointing at their products: deactivate a product instead of deleting it."""
        return False

    @admin.display(description="Price", ordering="price")
    def price_display(self, product: Product) -> str:
        return format_money(product.price)

    def save_form(self, request, form, change):
        data = form.cleaned_data
        category_id = data["category"].pk if data.get("category") else None
        if change:
            return services.update_product(
                product_id=form.instance.pk,
                name=data["name"],
                slug=data["slug"],
                price=data["price"],
                description=data["description"],
                is_active=data["is_active"],
                category_id=category_id,
                image_url=data["image_url"],
            )
        return services.create_product(
            sku=data["sku"],
            name=data["name"],
            slug=data["slug"],
            price=data["price"],
            stock=data["stock"],
            category_id=category_id,
            description=data["description"],
            image_url=data["image_url"],
            is_active=data["is_active"],
        )

    @admin.action(description="Adjust stock of selected products…")
    def adjust_stock(self, request, queryset):
        form = StockAdjustmentForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            adjusted = 0
            for product_id, name in queryset.order_by("pk").values_list("pk", "name"):
                try:
                    services.adjust_stock(
                        product_id=product_id, delta=form.cleaned_data["delta"], reason=form.cleaned_data["reason"], actor=request.user
                    )
                except DomainError as exc:
                    self.message_user(request, f"{name}: {exc.message} Its stock was not changed.", messages.ERROR)
                else:
                    adjusted += 1
            if adjusted:
                self.message_user(request, f"Stock adjusted by {form.cleaned_data['delta']:+d} for {adjusted} product(s).", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Adjust stock",
            "opts": self.model._meta,
            "form": form,
            "products": queryset.order_by("pk"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": [str(pk) for pk in queryset.order_by("pk").values_list("pk", flat=True)],
        }
        return TemplateResponse(request, "catalog/admin/adjust_stock.html", context)
