def main() -> None:
    print("Hello from default-groups!")
