def main() -> None:
    print("Hello from runtimes!")
