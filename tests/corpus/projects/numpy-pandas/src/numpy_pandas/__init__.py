def main() -> None:
    print("Hello from numpy-pandas!")
