def main() -> None:
    print("Hello from litestar-mangum!")
