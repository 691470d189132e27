"""One-click unsubscribe (RFC 8058): the URL in every message's List-Unsubscribe header."""
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaigns.delivery.unsubscribe import message_unsubscribe
from campaigns.models import Message
from campaigns.tokens import message_pk_from_token


@csrf_exempt  # mailbox providers POST "List-Unsubscribe=One-Click" without our CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET shows a confirmation button (link scanners prefetch GETs: they must not unsubscribe
    anyone); POST, from the button or a provider's one-click, suppresses the address at once."""
    pk = message_pk_from_token(token)
    message = Message.objects.filter(pk=pk).first() if pk else None
    if message is None:
        raise Http404("Unknown or invalid unsubscribe link.")
    if request.method == "POST":
        message_unsubscribe(message=message)
        return render(request, "campaigns/unsubscribed.html", {"email": message.to_email})
    return render(request, "campaigns/unsubscribe.html", {"email": message.to_email, "token": token})


