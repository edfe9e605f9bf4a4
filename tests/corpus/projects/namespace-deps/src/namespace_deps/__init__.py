def main() -> None:
    print("Hello from namespace-deps!")
