"""Printable documents: a donation receipt (捐赠收据) and a claim's record of
claim, delivery and confirmation, laid out for A4 (static/css/print.css)."""
