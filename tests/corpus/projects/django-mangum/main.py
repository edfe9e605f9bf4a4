import os

from django.core.asgi import get_asgi_application
from mangum import Mangum

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
handler = Mangum(get_asgi_application(), lifespan="off")
