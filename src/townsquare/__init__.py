"""Townsquare: a self-hostable social platform speaking the Mastodon client API."""

__version__ = "0.1.0"
MASTODON_COMPAT_VERSION = "4.4.0"
