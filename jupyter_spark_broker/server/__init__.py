"""The web layer: the Jupyter Server extension app, REST handlers, pages, /reconnectsparkmagic."""
