def main() -> None:
    print("Hello from init-app!")
