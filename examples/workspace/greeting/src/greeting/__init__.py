def exclaim(text: str) -> str:
    return f"{text}!"
