def main() -> None:
    print("Hello from caller!")
