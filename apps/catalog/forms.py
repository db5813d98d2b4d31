from django import forms

from apps.catalog.filters import storefront_ordering_choices

# The longest search the catalog runs (ProductFilter.q); a longer one is cut there, and the page says so.
SEARCH_MAX_LENGTH = 100


class ProductSearchForm(forms.Form):
    """The list page's query string: ?q=&category=&sort=&page=. Bad values are ignored, never an error page."""

    q = forms.CharField(required=False, label="Search")
    category = forms.SlugField(required=False, max_length=100)
    sort = forms.ChoiceField(required=False, choices=storefront_ordering_choices, label="Sort by")

    query_shortened = False

    def clean_q(self) -> str:
        query = " ".join(self.cleaned_data["q"].split())
        if len(query) > SEARCH_MAX_LENGTH:
            self.query_shortened = True
            query = query[:SEARCH_MAX_LENGTH].rstrip()
        return query

    def filters(self) -> dict[str, str]:
        """The valid parts, as ProductFilter parameters (an invalid field is left out)."""
        self.is_valid()
        cleaned = self.cleaned_data
        return {
            "q": cleaned.get("q") or "",
            "category": cleaned.get("category") or "",
            "ordering": cleaned.get("sort") or "",
        }
