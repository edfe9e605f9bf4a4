def main() -> None:
    print("Hello from sdist-with-c!")
