from django import forms
from django.conf import settings


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=settings.ORDER_MAX_LINE_QUANTITY, widget=forms.NumberInput(attrs={"inputmode": "numeric"}))


class AddToCartForm(QuantityForm):
    product_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput)
