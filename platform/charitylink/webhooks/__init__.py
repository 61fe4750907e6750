"""Webhooks: signed POSTs to partner systems when needs and claims change
(docs/webhooks.md)."""
