"""The domain: sessions, attachments, statements, lifecycle, profiles, endpoints (no tornado)."""
