from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from apps.core import errors, idempotency
from apps.core.money import format_money
from apps.wallets import selectors, services
from apps.wallets.forms import ChargeForm

LEDGER_PAGE_SIZE = 20


@login_required
def wallet_detail(request):
    if request.method == "POST":
        form = ChargeForm(request.POST)
        if form.is_valid():
            try:
                summary, repeated = idempotency.run_once(
                    user=request.user,
                    key=form.idempotency_key(),
                    fingerprint=idempotency.fingerprint(method="POST", path=request.path, body={"amount": form.cleaned_data["amount"]}),
                    action=lambda: _charge(user=request.user, amount=form.cleaned_data["amount"]),
                )
            except errors.IdempotencyInProgress:
                messages.info(request, "Your payment is still being processed; it will show below in a moment.")
                return redirect("wallets:detail")
            except errors.DomainError as exc:
                form.add_error("amount" if "amount" in exc.details else None, exc.message)
            else:
                if repeated:
                    messages.info(request, f"This form was already sent: {format_money(summary['amount'])} was added once.")
                else:
                    messages.success(request, f"Added {format_money(summary['amount'])}. Your balance is {format_money(summary['balance'])}.")
                return redirect("wallets:detail")
        status = 400
    else:
        form = ChargeForm()
        status = 200
    ledger = Paginator(selectors.wallet_transactions(user=request.user), LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"balance": selectors.wallet_balance(user=request.user), "form": form, "ledger": ledger}
    return render(request, "wallets/detail.html", context, status=status)


def _charge(*, user, amount: int) -> dict:
    txn = services.charge_wallet(user=user, amount=amount)
    return {"transaction_id": txn.pk, "amount": txn.amount, "balance": txn.wallet.balance}
