def main() -> None:
    print("Hello from psycopg2-app!")
