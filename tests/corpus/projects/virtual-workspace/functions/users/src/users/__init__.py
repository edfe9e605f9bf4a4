def main() -> None:
    print("Hello from users!")
