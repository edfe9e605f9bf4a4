def main() -> None:
    print("Hello from fastapi-pydantic210!")
