def main() -> None:
    print("Hello from exclude-newer!")
