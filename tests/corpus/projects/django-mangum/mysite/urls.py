import django
from django.http import HttpRequest, JsonResponse
from django.urls import path


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"pong": request.GET.get("who", "anyone"), "django": django.get_version()})


urlpatterns = [path("ping/", ping)]
