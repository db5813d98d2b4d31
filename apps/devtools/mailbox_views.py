from csp.constants import NONE, SELF
from csp.decorators import csp
from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render

from apps.devtools import mailbox


def _debug_only() -> None:
    """Mail holds every shopper's orders: shown only with DEBUG on, even where this app is installed."""
    if not settings.DEBUG:
        raise Http404


def mailbox_list(request):
    """The development mailbox: the newest mails the shop wrote to var/mail/ (no mail server needed)."""
    _debug_only()
    context = {"mails": mailbox.recent_mails(), "directory": mailbox.mail_directory(), "backend": settings.EMAIL_BACKEND}
    return render(request, "devtools/mailbox.html", context)


# The mail's own HTML, as a mail client would show it: no scripts, nothing fetched but this site's images, sandboxed.
@csp({"default-src": [NONE], "img-src": [SELF, "data:"], "sandbox": [True]})
def mailbox_html(request, file: str, index: int):
    _debug_only()
    mail = mailbox.stored_mail(file=file, index=index)
    if mail is None or not mail.html:
        raise Http404
    return HttpResponse(mail.html, content_type="text/html; charset=utf-8")
