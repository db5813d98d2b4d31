from django import forms
from django.contrib.auth.forms import AuthenticationForm

from apps.accounts.services import normalize_email


class SignupForm(forms.Form):
    name = forms.CharField(max_length=150, required=False, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(max_length=254, label="E-mail", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not only numbers, and not a common password.",
    )
    password_again = forms.CharField(
        max_length=128, strip=False, label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password_again") and cleaned["password"] != cleaned["password_again"]:
            self.add_error("password_again", "The two passwords are not the same.")
        return cleaned


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "The e-mail address or password is not correct.",
    }

    def clean_username(self):
        return normalize_email(self.cleaned_data["username"])
