def main() -> None:
    print("Hello from flask-templates!")
