def main() -> None:
    print("Hello from package-data!")
