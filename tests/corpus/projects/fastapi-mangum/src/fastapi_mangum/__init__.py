def main() -> None:
    print("Hello from fastapi-mangum!")
