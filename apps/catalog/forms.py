from django import forms

from apps.catalog.filters import storefront_ordering_choices


class ProductSearchForm(forms.Form):
    """The list page's query string: ?q=&category=&sort=&page=. Bad values are ignored, never an error page."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    category = forms.SlugField(required=False, max_length=100)
    sort = forms.ChoiceField(required=False, choices=storefront_ordering_choices)

    def filters(self) -> dict[str, str]:
        """The valid parts, as ProductFilter parameters (an invalid field is left out)."""
        self.is_valid()
        cleaned = self.cleaned_data
        return {
            "q": cleaned.get("q") or "",
            "category": cleaned.get("category") or "",
            "ordering": cleaned.get("sort") or "",
        }
