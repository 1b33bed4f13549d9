"""WhiteNoise as Ballast serves static files: hashed names cached a year."""

from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, caching a hashed file for a year rather than its default ten.

    A year is the longest lifetime HTTP/1.1 caches were told to expect (RFC 2616 section 14.21)
    and what browsers' and CDNs' guides name; a new release gets new hashed names anyway.
    """

    FOREVER = 365 * 24 * 60 * 60
