from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm

from apps.accounts import services
from apps.accounts.models import User
from apps.core.admin import moment_column


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"email": forms.EmailField}


class PasswordChangeAdminForm(AdminPasswordChangeForm):
    """Saves through services.change_password, which also revokes the user's API token."""

    def save(self, commit=True):
        if not commit:
            return super().save(commit=False)
        usable = self.cleaned_data.get("set_usable_password", True)
        return services.change_password(user=self.user, password=self.cleaned_data["password1"] if usable else None)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationAdminForm
    form = UserChangeAdminForm
    change_password_form = PasswordChangeAdminForm
    ordering = ["email"]
    list_display = ["email", "name", "staff", "active", "joined", "last_seen"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name"]
    readonly_fields = ["last_login", "date_joined"]
    joined = moment_column("date_joined", "Joined")
    last_seen = moment_column("last_login", "Last login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "usable_password", "password1", "password2")}),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            services.user_changed(user=obj)

    @admin.display(description="Staff", boolean=True, ordering="is_staff")
    def staff(self, user: User) -> bool:
        return user.is_staff

    @admin.display(description="Active", boolean=True, ordering="is_active")
    def active(self, user: User) -> bool:
        return user.is_active
