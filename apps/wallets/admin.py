"""Wallets are read-only in the admin: the one way staff change a balance is the "Adjust balance"
page, which goes through services.adjust_wallet (version-guarded, ledger line, outbox event)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms.models import BaseInlineFormSet
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdminMixin, moment_column
from apps.core.admin_widgets import MoneyField
from apps.core.errors import DomainError
from apps.core.money import format_money
from apps.wallets import services
from apps.wallets.models import Wallet, WalletTransaction

INLINE_LEDGER_LINES = 50


class AdjustBalanceForm(forms.Form):
    amount = MoneyField(label="Amount", help_text=f"Signed, in {settings.CURRENCY}: 10.00 adds, -10.00 takes away.")
    note = forms.CharField(max_length=255, help_text="Why; kept on the ledger line.")


class RecentLedgerFormSet(BaseInlineFormSet):
    """Only the newest lines: a busy wallet's full ledger is in the Wallet transactions list."""

    def get_queryset(self):
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset().order_by("-created_at", "-id")[:INLINE_LEDGER_LINES]
        return self._recent


class LedgerInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WalletTransaction
    formset = RecentLedgerFormSet
    fields = ("created_at", "kind", "amount_display", "balance_after_display", "order", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = f"Ledger (newest {INLINE_LEDGER_LINES} lines)"

    @admin.display(description="Amount")
    def amount_display(self, obj):
        return format_money(obj.amount)

    @admin.display(description="Balance")
    def balance_after_display(self, obj):
        return format_money(obj.balance_after)


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "balance_display", "version", "updated", "adjust_link")
    updated = moment_column("updated_at", "Updated")
    search_fields = ("user__email", "user__name")
    list_select_related = ("user",)
    ordering = ("-updated_at",)
    fields = ("user", "balance_display", "version", "created_at", "updated_at", "adjust_link")
    readonly_fields = fields
    inlines = [LedgerInline]

    @admin.display(description="Balance", ordering="balance")
    def balance_display(self, obj):
        return format_money(obj.balance)

    @admin.display(description="Adjust")
    def adjust_link(self, obj):
        return format_html('<a href="{}">Adjust balance</a>', reverse("admin:wallets_wallet_adjust", args=[obj.pk]))

    def get_urls(self):
        return [
            path("<int:wallet_id>/adjust/", self.admin_site.admin_view(self.adjust_view), name="wallets_wallet_adjust"),
            *super().get_urls(),
        ]

    def adjust_view(self, request, wallet_id: int):
        """Needs the `wallets.change_wallet` permission; field edits stay off for everyone."""
        if not request.user.has_perm("wallets.change_wallet"):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet.objects.select_related("user"), pk=wallet_id)
        form = AdjustBalanceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                txn = services.adjust_wallet(user=wallet.user, amount=form.cleaned_data["amount"], note=form.cleaned_data["note"])
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                self.log_change(request, wallet, f"Adjusted the balance by {format_money(txn.amount)}: {txn.note}")
                messages.success(request, f"Adjusted by {format_money(txn.amount)}; the balance is now {format_money(txn.wallet.balance)}.")
                return redirect("admin:wallets_wallet_change", wallet.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Adjust the balance of {wallet.user}",
            "wallet": wallet,
            "form": form,
        }
        return TemplateResponse(request, "wallets/admin_adjust.html", context)


@admin.register(WalletTransaction)
class WalletTransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("when", "user_email", "kind", "amount_display", "balance_after_display", "order", "note")
    list_filter = ("kind", "created_at")
    search_fields = ("wallet__user__email", "note")
    list_select_related = ("wallet__user",)
    fields = ("wallet", "kind", "amount_display", "balance_after_display", "order", "note", "created_at")
    readonly_fields = fields
    when = moment_column("created_at", "When")

    @admin.display(description="User", ordering="wallet__user__email")
    def user_email(self, obj):
        return obj.wallet.user.email

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj):
        return format_money(obj.amount)

    @admin.display(description="Balance")
    def balance_after_display(self, obj):
        return format_money(obj.balance_after)
