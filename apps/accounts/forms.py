from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, PasswordResetForm, SetPasswordForm

from apps.accounts import services
from apps.accounts.services import normalize_email

PASSWORD_HELP = "At least 8 characters; not only numbers, and not a common password."


class SignupForm(forms.Form):
    name = forms.CharField(max_length=150, required=False, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(max_length=254, label="E-mail", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=PASSWORD_HELP,
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


class PasswordResetRequestForm(PasswordResetForm):
    email = forms.EmailField(max_length=254, label="E-mail", widget=forms.EmailInput(attrs={"autocomplete": "email"}))

    def clean_email(self):
        return normalize_email(self.cleaned_data["email"])


def _new_password_fields():
    new_password1, new_password2 = SetPasswordForm.create_password_fields(label1="New password", label2="New password again")
    new_password1.help_text = PASSWORD_HELP
    new_password2.help_text = ""
    return new_password1, new_password2


class _ServicePasswordMixin:
    """Saves through services.change_password, which also revokes the user's API token."""

    error_messages = {"password_mismatch": "The two passwords are not the same."}

    def save(self, commit=True):
        if not commit:
            raise ValueError("A new password is always saved through the accounts service.")
        return services.change_password(user=self.user, password=self.cleaned_data["new_password1"])


class NewPasswordForm(_ServicePasswordMixin, SetPasswordForm):
    new_password1, new_password2 = _new_password_fields()


class ChangePasswordForm(_ServicePasswordMixin, PasswordChangeForm):
    error_messages = {
        **_ServicePasswordMixin.error_messages,
        "password_incorrect": "Your current password is not correct.",
    }
    old_password = forms.CharField(
        label="Current password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password1, new_password2 = _new_password_fields()
