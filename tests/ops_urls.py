"""URLs for the guard tests: the real ones plus stand-in webhook and inbound endpoints.

The stand-ins count how often they ran, so a test can show a refused request never reached a
view (the real Anymail views are wired by the webhooks work)."""
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

calls: list[str] = []


@csrf_exempt
def record(request, *args, **kwargs):
    calls.append(request.path)
    # Read the body as a real webhook view does (form data through the upload handlers).
    if request.content_type.startswith("multipart/"):
        return HttpResponse(f"ok {sum(f.size for f in request.FILES.values())}")
    return HttpResponse(f"ok {len(request.body)}")


urlpatterns = [
    path("anymail/test/tracking/", record),
    path("anymail/test/inbound/", record),
    path("inbound/test/", record),
    path("anymail/", include("anymail.urls")),
    path("", include("lockline.urls")),
]
