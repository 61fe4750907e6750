"""Integrity: signals of gaming for moderators, and the claim-abandon throttle
(docs/integrity.md)."""
