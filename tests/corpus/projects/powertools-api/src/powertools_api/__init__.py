def main() -> None:
    print("Hello from powertools-api!")
