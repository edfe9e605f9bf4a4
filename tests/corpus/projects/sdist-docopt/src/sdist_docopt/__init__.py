def main() -> None:
    print("Hello from sdist-docopt!")
