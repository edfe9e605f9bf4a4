def main() -> None:
    print("Hello from path-dependency!")
