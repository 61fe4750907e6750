"""Notifications: what concerns a person, written in the transaction of the change."""
