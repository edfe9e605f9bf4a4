def main() -> None:
    print("Hello from psycopg3-app!")
