def main() -> None:
    print("Hello from vendored-wheel!")
