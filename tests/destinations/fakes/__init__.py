"""Local stand-ins for the vendors' HTTP APIs, implementing the documented endpoints the official
SDKs call, with scripted 429 (Retry-After) and 5xx answers."""
