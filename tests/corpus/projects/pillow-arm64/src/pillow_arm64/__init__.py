def main() -> None:
    print("Hello from pillow-arm64!")
