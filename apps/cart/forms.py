from django import forms
from django.conf import settings


class AddToCartForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=settings.ORDER_MAX_LINE_QUANTITY, widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    product_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class QuantityForm(forms.Form):
    """A cart line's new quantity; 0 removes the line. The input's max is what can be bought (stock, capped)."""

    quantity = forms.IntegerField(
        min_value=0,
        max_value=settings.ORDER_MAX_LINE_QUANTITY,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}),
        error_messages={
            "required": "Enter a quantity (0 removes the line).",
            "invalid": "Enter a whole number of items (0 removes the line).",
            "min_value": "Enter a whole number of items (0 removes the line).",
            "max_value": f"At most {settings.ORDER_MAX_LINE_QUANTITY} of one product per order.",
        },
    )

    def __init__(self, *args, product=None, **kwargs):
        super().__init__(*args, **kwargs)
        if product is not None:
            self.fields["quantity"].widget.attrs["max"] = max(0, min(product.stock, settings.ORDER_MAX_LINE_QUANTITY))
