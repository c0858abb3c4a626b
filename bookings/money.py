"""Amounts of money in words for people (pages and emails): minor units and a currency code."""

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$"}
ZERO_DECIMAL_CURRENCIES = {"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX"}


def money(minor: int, currency: str) -> str:
    """`2000, "USD"` -> "$20.00"; an unknown currency is written after the amount."""
    currency = (currency or "").upper()
    amount = f"{minor:d}" if currency in ZERO_DECIMAL_CURRENCIES else f"{minor / 100:,.2f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"
