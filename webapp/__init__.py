"""Page renderers of the Streamlit app (``app.py``).

The app is thin: every page renders what :mod:`kb` returns. Modules:
``context`` (opening the knowledge base, navigation, query parameters, cached listings),
``widgets`` (escaped HTML, marked snippets, hit cards, score bars), ``packs`` (adding to
the current course pack), and one ``pages_*`` module per page.
"""
