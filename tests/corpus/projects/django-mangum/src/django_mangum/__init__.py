def main() -> None:
    print("Hello from django-mangum!")
