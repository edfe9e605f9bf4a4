def main() -> None:
    print("Hello from flask-apig-wsgi!")
